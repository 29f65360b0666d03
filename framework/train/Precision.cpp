#include "framework/train/Precision.h"

#include <ATen/autocast_mode.h>
#include <ATen/cpu/Utils.h>
#include <torch/utils.h>

namespace ferlab::train {
namespace {

bool cpuHas(const char* capability) {
  const auto capabilities = at::cpu::get_cpu_capabilities();
  const auto found = capabilities.find(capability);
  return found != capabilities.end() && found->second.isBool() && found->second.toBool();
}

}  // namespace

PrecisionChoice choosePrecision(config::Precision requested, const c10::Device& device) {
  PrecisionChoice choice{requested, requested, {}};
  if (!device.is_cpu() || requested == config::Precision::Fp32) return choice;
  if (requested == config::Precision::Bf16 && !cpuHas("avx512_bf16") && !cpuHas("amx_bf16")) {
    choice.effective = config::Precision::Fp32;
    choice.fallback_reason = "this CPU has neither AVX512-BF16 nor AMX-BF16";
  }
  if (requested == config::Precision::Fp16) {
    // Measured on the project's AVX512-FP16 CPU (LibTorch 2.11): a simple_cnn training step
    // under CPU fp16 autocast took more than 50 times as long as in fp32, so fp16 is a CUDA
    // precision only.
    choice.effective = config::Precision::Fp32;
    choice.fallback_reason =
        "fp16 autocast has no fast CPU kernels in LibTorch (more than 50x slower than fp32 "
        "here); use bf16 on the CPU";
  }
  return choice;
}

c10::ScalarType autocastDtype(config::Precision precision) {
  switch (precision) {
    case config::Precision::Bf16:
      return c10::ScalarType::BFloat16;
    case config::Precision::Fp16:
      return c10::ScalarType::Half;
    case config::Precision::Fp32:
      break;
  }
  return c10::ScalarType::Float;
}

AutocastScope::AutocastScope(config::Precision precision, c10::DeviceType device_type)
    : device_type_(device_type) {
  if (precision == config::Precision::Fp32) return;
  active_ = true;
  previous_enabled_ = at::autocast::is_autocast_enabled(device_type_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
  at::autocast::set_autocast_enabled(device_type_, true);
  at::autocast::set_autocast_dtype(device_type_, autocastDtype(precision));
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The cast-weight cache lives for the outermost scope only (as torch.autocast's __exit__).
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_type_, previous_enabled_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
}

void toChannelsLast(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.parameters()) {
    if (parameter.dim() == 4)
      parameter.set_data(parameter.data().contiguous(torch::MemoryFormat::ChannelsLast));
  }
  for (auto& buffer : module.buffers()) {
    if (buffer.dim() == 4)
      buffer.set_data(buffer.data().contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

}  // namespace ferlab::train
