// `ferlab version`: what this binary was built against and what this machine offers, so a
// result can be tied to its toolchain and a user can see at once whether CUDA is usable.

#include <ATen/cpu/Utils.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/config/RunConfig.h"
#include "framework/core/Errors.h"
#include "framework/core/Provenance.h"
#include "framework/data/Fer2013Reader.h"
#include "framework/train/Precision.h"

namespace ferlab::cli {
namespace {

// "13.0" from CUDART's 13000.
std::string cudaVersionText(long version) {
  return fmt::format("{}.{}", version / 1000, (version % 1000) / 10);
}

// "9.19.0" from cuDNN's 91900.
std::string cudnnVersionText(long version) {
  return fmt::format("{}.{}.{}", version / 10000, (version % 10000) / 100, version % 100);
}

std::string cudaBuildLine() {
  const auto& hooks = at::detail::getCUDAHooks();
  try {
    // Throws when the ATen CUDA library (libtorch_cuda.so) is not loaded.
    const long runtime = hooks.versionCUDART();
    return fmt::format("CUDA build: yes (CUDA {}, cuDNN {})", cudaVersionText(runtime),
                       cudnnVersionText(hooks.versionCuDNN()));
  } catch (const c10::Error&) {
    return "CUDA build: no (CPU-only LibTorch)";
  }
}

const char* yesNo(bool value) {
  return value ? "yes" : "no";
}

}  // namespace

int versionCommand(const std::vector<std::string>& args) {
  if (!args.empty()) throw UsageError("usage: ferlab version (takes no arguments)");
  fmt::print("FERLab {} (git {})\n", core::ferlabVersion(), core::gitCommit());
  fmt::print("LibTorch {}\n", TORCH_VERSION);
  fmt::print("{}\n", cudaBuildLine());
  fmt::print("CUDA devices: {}\n", torch::cuda::device_count());
  const auto bf16 = train::choosePrecision(config::Precision::Bf16, torch::kCPU);
  const auto fp16 = train::choosePrecision(config::Precision::Fp16, torch::kCPU);
  fmt::print("CPU: {} threads, bf16 autocast {}, fp16 autocast {}\n", at::get_num_threads(),
             yesNo(bf16.effective == config::Precision::Bf16),
             yesNo(fp16.effective == config::Precision::Fp16));
  fmt::print("OpenCV {}\n", data::opencvVersion());
  return 0;
}

}  // namespace ferlab::cli
