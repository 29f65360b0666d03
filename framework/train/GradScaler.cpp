#include "framework/train/GradScaler.h"

#include <vector>

#include <ATen/ops/_amp_foreach_non_finite_check_and_unscale.h>
#include <ATen/ops/_amp_update_scale.h>
#include <torch/utils.h>

#include "framework/core/Errors.h"

namespace ferlab::train {

GradScaler::GradScaler(bool enabled, const torch::Device& device, GradScalerOptions options)
    : enabled_(enabled), options_(options) {
  const auto on_device = torch::TensorOptions().device(device);
  scale_ = torch::full({1}, enabled ? options.init_scale : 1.0, on_device.dtype(torch::kFloat32));
  growth_tracker_ = torch::zeros({1}, on_device.dtype(torch::kInt32));
  found_inf_ = torch::zeros({1}, on_device.dtype(torch::kFloat32));
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const {
  if (!enabled_) return loss;
  return loss * scale_.to(loss.scalar_type()).squeeze();
}

bool GradScaler::unscale(torch::optim::Optimizer& optimizer) {
  if (!enabled_) return true;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> gradients;
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& parameter : group.params()) {
      if (parameter.grad().defined()) gradients.push_back(parameter.grad());
    }
  }
  found_inf_.zero_();
  const auto inverse_scale = scale_.reciprocal();
  if (!gradients.empty())
    at::_amp_foreach_non_finite_check_and_unscale_(gradients, found_inf_, inverse_scale);
  unscaled_ = true;
  finite_ = found_inf_.item<float>() == 0.0f;  // the one synchronisation of the step
  return finite_;
}

bool GradScaler::step(torch::optim::Optimizer& optimizer) {
  if (!enabled_) {
    optimizer.step();
    return true;
  }
  if (!unscaled_) unscale(optimizer);
  unscaled_ = false;
  const bool finite = finite_;
  if (finite) optimizer.step();
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, options_.growth_factor,
                         options_.backoff_factor, options_.growth_interval);
  return finite;
}

double GradScaler::scaleValue() const {
  return scale_.item<double>();
}

void GradScaler::save(torch::serialize::OutputArchive& archive) const {
  if (!enabled_) return;
  archive.write("grad_scaler/scale", scale_, /*is_buffer=*/true);
  archive.write("grad_scaler/growth_tracker", growth_tracker_, /*is_buffer=*/true);
}

void GradScaler::load(torch::serialize::InputArchive& archive) {
  if (!enabled_) return;
  torch::Tensor scale, growth_tracker;
  if (!archive.try_read("grad_scaler/scale", scale, /*is_buffer=*/true) ||
      !archive.try_read("grad_scaler/growth_tracker", growth_tracker, /*is_buffer=*/true)) {
    return;
  }
  scale_.copy_(scale);
  growth_tracker_.copy_(growth_tracker);
}

}  // namespace ferlab::train
