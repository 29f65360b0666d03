#pragma once
// Mixed precision and memory layout for training and evaluation (train.precision,
// train.channels_last).
//
// Autocast runs the forward pass's matrix products and convolutions in bfloat16 or float16
// while parameters, gradients and optimiser state stay float32 (Micikevicius et al., "Mixed
// Precision Training", ICLR 2018). The op lists are LibTorch's own (ATen/autocast_mode.h, the
// same as Python's torch.autocast); losses and softmax are computed from float32 logits.

#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include "framework/config/RunConfig.h"

namespace ferlab::train {

/// The precision a run can train in on `device`, and why it differs from the request.
struct PrecisionChoice {
  config::Precision requested = config::Precision::Fp32;
  config::Precision effective = config::Precision::Fp32;
  std::string fallback_reason;  ///< empty when effective == requested
};

/// Resolves `requested` for `device`. CUDA supports all three. On the CPU, bf16 needs native
/// bfloat16 dot products (AVX512-BF16 or AMX-BF16, as reported by cpuinfo through
/// at::cpu::get_cpu_capabilities()); without them oneDNN emulates bf16, slower than fp32, so
/// the run falls back to fp32. fp16 on the CPU always falls back to fp32: LibTorch's CPU
/// fp16 autocast has no fast kernels (more than 50x slower than fp32, measured).
PrecisionChoice choosePrecision(config::Precision requested, const c10::Device& device);

/// The autocast dtype of `precision`: kBFloat16, kHalf, or kFloat for fp32 (no autocast).
c10::ScalarType autocastDtype(config::Precision precision);

/// Enables autocast for the device type with the dtype of `precision` while it lives (nothing
/// for fp32), restoring the previous state afterwards. Wrap forward passes and losses, not
/// backward(): autograd replays each op in the dtype its forward ran in.
class AutocastScope {
 public:
  AutocastScope(config::Precision precision, c10::DeviceType device_type);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_type_;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

/// Converts every 4-D parameter and buffer of `module` (convolution weights) to the
/// channels-last (NHWC) memory layout in place; values and shapes are unchanged. cuDNN and
/// oneDNN pick NHWC kernels for such tensors, which tensor cores and AVX512 prefer.
void toChannelsLast(torch::nn::Module& module);

}  // namespace ferlab::train
