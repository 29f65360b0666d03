#pragma once
// Dynamic loss scaling for float16 training (train.precision = "fp16").
//
// float16 gradients underflow to zero below about 6e-8; multiplying the loss by a large
// factor S before backward() keeps them representable, and the gradients are divided by S
// before the optimiser step (Micikevicius et al., "Mixed Precision Training", ICLR 2018).
// The dynamic policy and its constants are those of PyTorch's torch.amp.GradScaler, which
// LibTorch does not offer: S starts at 2^16; a step whose gradients hold an inf or NaN is
// skipped and S is halved; after 2000 consecutive finite steps S is doubled. The unscale and
// update kernels are ATen's own (_amp_foreach_non_finite_check_and_unscale_,
// _amp_update_scale_), the ones torch.amp.GradScaler calls.

#include <cstdint>

#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

namespace ferlab::train {

struct GradScalerOptions {
  double init_scale = 65536.0;  ///< 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  std::int64_t growth_interval = 2000;  ///< finite steps before the scale grows
};

class GradScaler {
 public:
  /// A disabled scaler (fp32, bf16) passes losses through and always steps.
  GradScaler(bool enabled, const torch::Device& device, GradScalerOptions options = {});

  bool enabled() const { return enabled_; }
  /// loss * S (scalar tensor), or `loss` itself when disabled.
  torch::Tensor scale(const torch::Tensor& loss) const;
  /// Divides the gradients of `optimizer`'s parameters by S in place and reports whether all
  /// of them are finite (one device synchronisation). Call after backward(), before gradient
  /// clipping. Always true when disabled.
  bool unscale(torch::optim::Optimizer& optimizer);
  /// After unscale(): steps `optimizer` when the gradients were finite, then updates S.
  /// Returns whether the step was taken.
  bool step(torch::optim::Optimizer& optimizer);
  /// The current scale S (1 when disabled).
  double scaleValue() const;

  /// S and the count of finite steps, under "grad_scaler/*" keys: a resumed run continues
  /// with the same scale. load() leaves the initial state when the archive has none (a
  /// checkpoint written by an fp32 or bf16 run).
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  bool enabled_;
  GradScalerOptions options_;
  torch::Tensor scale_;           // float32 [1] on the device
  torch::Tensor growth_tracker_;  // int32 [1]: consecutive finite steps
  torch::Tensor found_inf_;       // float32 [1]: set by unscale()
  bool unscaled_ = false;
  bool finite_ = true;  // what the last unscale() found
};

}  // namespace ferlab::train
