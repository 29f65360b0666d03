#include "framework/models/backbones/ImageNetBackbone.h"

#include <utility>

#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "framework/core/Errors.h"

namespace ferlab::models {

namespace nn = torch::nn;

namespace {

// The first 4-D parameter is the first convolution's weight [out, in, k, k]: modules register
// their children from input to output. Read on every call because TransferModel may replace
// it with a one-channel version after construction.
std::int64_t firstConvInputChannels(const nn::Module& module) {
  for (const auto& parameter : module.parameters()) {
    if (parameter.dim() == 4) return parameter.size(1);
  }
  return 3;
}

}  // namespace

ImageNetBackboneImpl::ImageNetBackboneImpl(std::string architecture, bool include_top)
    : architecture_(std::move(architecture)), include_top_(include_top) {}

torch::Tensor ImageNetBackboneImpl::forward(torch::Tensor x) {
  if (!include_top_) {
    throw TrainError(fmt::format(
        "{}: forward() needs the classifier, but the model was built with include_top = false "
        "(use features())",
        architecture_));
  }
  checkInput(x);
  return forwardHead(forwardFeatures(x));
}

torch::Tensor ImageNetBackboneImpl::features(torch::Tensor x) {
  checkInput(x);
  return forwardFeatures(x);
}

void ImageNetBackboneImpl::checkInput(const torch::Tensor& x) const {
  // LibTorch's own message for a wrong shape points deep inside a convolution; name the model
  // and the expectation instead.
  const auto channels = firstConvInputChannels(*this);
  const auto min_size = minInputSize();
  if (x.dim() != 4 || x.size(1) != channels || x.size(2) < min_size || x.size(3) < min_size) {
    throw TrainError(
        fmt::format("{}: expected a float [B, {}, H, W] batch with H, W >= {}, got [{}]",
                    architecture_, channels, min_size, fmt::join(x.sizes().vec(), ", ")));
  }
}

void initialiseLikeTorchvision(nn::Module& module, double linear_std) {
  torch::NoGradGuard no_grad;
  for (const auto& child : module.modules(/*include_self=*/false)) {
    if (auto* conv = child->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) nn::init::zeros_(conv->bias);
    } else if (auto* bn = child->as<nn::BatchNorm2d>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    } else if (auto* linear = child->as<nn::Linear>()) {
      if (linear_std <= 0.0) continue;
      nn::init::normal_(linear->weight, 0.0, linear_std);
      nn::init::zeros_(linear->bias);
    }
  }
}

void throwUnsupported(const std::string& what, const std::string& value,
                      const std::string& expected) {
  throw ConfigError(
      fmt::format("{}: unsupported value {} (expected one of {})", what, value, expected));
}

}  // namespace ferlab::models
