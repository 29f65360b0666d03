#include "framework/models/backbones/MobileNetV2.h"

#include <array>
#include <memory>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <fmt/format.h>

namespace ferlab::models {

namespace nn = torch::nn;

namespace {

// torchvision's Conv2dNormActivation: conv (no bias, "same" padding) -> BatchNorm -> ReLU6,
// children named "0", "1", "2" like the nn.Sequential it derives from. A module of its own
// because a LibTorch Sequential cannot hold another Sequential.
class ConvBnRelu6Impl : public nn::Module {
 public:
  ConvBnRelu6Impl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                  std::int64_t groups)
      : conv_(register_module("0", nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                                                  .stride(stride)
                                                  .padding(kernel / 2)
                                                  .groups(groups)
                                                  .bias(false)))),
        bn_(register_module("1", nn::BatchNorm2d(out))),
        relu6_(register_module("2", nn::ReLU6(nn::ReLU6Options().inplace(true)))) {}

  torch::Tensor forward(torch::Tensor x) { return relu6_(bn_(conv_(x))); }

 private:
  nn::Conv2d conv_;
  nn::BatchNorm2d bn_;
  nn::ReLU6 relu6_;
};

std::shared_ptr<ConvBnRelu6Impl> convBnRelu6(std::int64_t in, std::int64_t out, std::int64_t kernel,
                                             std::int64_t stride = 1, std::int64_t groups = 1) {
  return std::make_shared<ConvBnRelu6Impl>(in, out, kernel, stride, groups);
}

// Expand 1x1 (skipped for t = 1) -> depthwise 3x3 -> linear 1x1 projection, all in `conv`.
class InvertedResidualImpl : public nn::Module {
 public:
  InvertedResidualImpl(std::int64_t in, std::int64_t out, std::int64_t stride,
                       std::int64_t expand_ratio)
      : use_shortcut_(stride == 1 && in == out) {
    const std::int64_t hidden = in * expand_ratio;
    nn::Sequential conv;
    if (expand_ratio != 1) conv->push_back(convBnRelu6(in, hidden, 1));
    conv->push_back(convBnRelu6(hidden, hidden, 3, stride, hidden));
    conv->push_back(
        nn::Conv2d(nn::Conv2dOptions(hidden, out, 1).bias(false)));  // linear bottleneck
    conv->push_back(nn::BatchNorm2d(out));
    conv_ = register_module("conv", conv);
  }

  torch::Tensor forward(torch::Tensor x) {
    return use_shortcut_ ? x + conv_->forward(x) : conv_->forward(x);
  }

 private:
  bool use_shortcut_;
  nn::Sequential conv_{nullptr};
};

struct Stage {
  std::int64_t expand_ratio, channels, repeats, stride;
};

// Table 2 of the paper (torchvision's inverted_residual_setting). At width 1.0 every channel
// count is already a multiple of 8, so torchvision's _make_divisible changes nothing.
constexpr std::array<Stage, 7> kStages{{{1, 16, 1, 1},
                                        {6, 24, 2, 2},
                                        {6, 32, 3, 2},
                                        {6, 64, 4, 2},
                                        {6, 96, 3, 1},
                                        {6, 160, 3, 2},
                                        {6, 320, 1, 1}}};

nn::Sequential makeFeatures() {
  nn::Sequential features;
  features->push_back(convBnRelu6(3, 32, 3, 2));
  std::int64_t channels = 32;
  for (const auto& stage : kStages) {
    for (std::int64_t i = 0; i < stage.repeats; ++i) {
      features->push_back(std::make_shared<InvertedResidualImpl>(
          channels, stage.channels, i == 0 ? stage.stride : 1, stage.expand_ratio));
      channels = stage.channels;
    }
  }
  features->push_back(convBnRelu6(channels, 1280, 1));
  return features;
}

}  // namespace

MobileNetV2Impl::MobileNetV2Impl(const MobileNetV2Options& options)
    : ImageNetBackboneImpl("mobilenet_v2", options.include_top) {
  features_ = register_module("features", makeFeatures());
  if (options.include_top) {
    classifier_ = register_module(
        "classifier",
        nn::Sequential(nn::Dropout(options.dropout), nn::Linear(1280, options.num_classes)));
  }
  initialiseLikeTorchvision(*this, /*linear_std=*/0.01);
}

std::vector<std::string> MobileNetV2Impl::blockNames() const {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < features_->size(); ++i)
    names.push_back(fmt::format("features.{}", i));
  return names;
}

torch::Tensor MobileNetV2Impl::forwardFeatures(torch::Tensor x) {
  return features_->forward(x);
}

torch::Tensor MobileNetV2Impl::forwardHead(torch::Tensor features) {
  return classifier_->forward(torch::flatten(torch::adaptive_avg_pool2d(features, {1, 1}), 1));
}

}  // namespace ferlab::models
