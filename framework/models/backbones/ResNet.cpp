#include "framework/models/backbones/ResNet.h"

#include <array>
#include <memory>

#include <torch/nn/functional/pooling.h>

#include <fmt/format.h>

namespace ferlab::models {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

nn::Conv2d convNoBias(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride) {
  return nn::Conv2d(
      nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

// torchvision's shortcut projection (option B of the paper): 1x1 conv + BatchNorm, used only
// where the block changes the resolution or the width.
nn::Sequential makeDownsample(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return nn::Sequential(convNoBias(in, out, 1, stride), nn::BatchNorm2d(out));
}

// Two 3x3 convolutions (resnet18/34). Children registered in torchvision's order so the
// state dict lists them identically.
class BasicBlockImpl : public nn::Module {
 public:
  static constexpr std::int64_t kExpansion = 1;

  BasicBlockImpl(std::int64_t in, std::int64_t width, std::int64_t stride)
      : conv1_(register_module("conv1", convNoBias(in, width, 3, stride))),
        bn1_(register_module("bn1", nn::BatchNorm2d(width))),
        conv2_(register_module("conv2", convNoBias(width, width, 3, 1))),
        bn2_(register_module("bn2", nn::BatchNorm2d(width))) {
    if (stride != 1 || in != width * kExpansion) {
      downsample_ = register_module("downsample", makeDownsample(in, width * kExpansion, stride));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    auto out = torch::relu(bn1_(conv1_(x)));
    out = bn2_(conv2_(out));
    return torch::relu(out + (downsample_.is_empty() ? x : downsample_->forward(x)));
  }

 private:
  nn::Conv2d conv1_;
  nn::BatchNorm2d bn1_;
  nn::Conv2d conv2_;
  nn::BatchNorm2d bn2_;
  nn::Sequential downsample_{nullptr};
};

// 1x1 reduce, 3x3 (carrying the stride: v1.5), 1x1 expand by 4 (resnet50/101/152).
class BottleneckImpl : public nn::Module {
 public:
  static constexpr std::int64_t kExpansion = 4;

  BottleneckImpl(std::int64_t in, std::int64_t width, std::int64_t stride)
      : conv1_(register_module("conv1", convNoBias(in, width, 1, 1))),
        bn1_(register_module("bn1", nn::BatchNorm2d(width))),
        conv2_(register_module("conv2", convNoBias(width, width, 3, stride))),
        bn2_(register_module("bn2", nn::BatchNorm2d(width))),
        conv3_(register_module("conv3", convNoBias(width, width * kExpansion, 1, 1))),
        bn3_(register_module("bn3", nn::BatchNorm2d(width * kExpansion))) {
    if (stride != 1 || in != width * kExpansion) {
      downsample_ = register_module("downsample", makeDownsample(in, width * kExpansion, stride));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    auto out = torch::relu(bn1_(conv1_(x)));
    out = torch::relu(bn2_(conv2_(out)));
    out = bn3_(conv3_(out));
    return torch::relu(out + (downsample_.is_empty() ? x : downsample_->forward(x)));
  }

 private:
  nn::Conv2d conv1_;
  nn::BatchNorm2d bn1_;
  nn::Conv2d conv2_;
  nn::BatchNorm2d bn2_;
  nn::Conv2d conv3_;
  nn::BatchNorm2d bn3_;
  nn::Sequential downsample_{nullptr};
};

// torchvision's `_make_layer`: the first block carries the stride and any projection.
template <typename BlockImpl>
nn::Sequential makeLayer(std::int64_t& in, std::int64_t width, int blocks, std::int64_t stride) {
  nn::Sequential layer;
  for (int i = 0; i < blocks; ++i) {
    layer->push_back(std::make_shared<BlockImpl>(in, width, i == 0 ? stride : 1));
    in = width * BlockImpl::kExpansion;
  }
  return layer;
}

struct Depth {
  bool bottleneck;
  std::array<int, 4> blocks;
};

Depth depthTable(int depth) {
  if (depth == 18) return {false, {2, 2, 2, 2}};
  if (depth == 50) return {true, {3, 4, 6, 3}};
  throwUnsupported("resnet depth", std::to_string(depth), "18, 50");
}

}  // namespace

ResNetImpl::ResNetImpl(const ResNetOptions& options)
    : ImageNetBackboneImpl(fmt::format("resnet{}", options.depth), options.include_top) {
  const auto depth = depthTable(options.depth);
  conv1_ = register_module("conv1", convNoBias(3, 64, 7, 2));
  bn1_ = register_module("bn1", nn::BatchNorm2d(64));
  std::int64_t channels = 64;
  for (std::size_t k = 0; k < depth.blocks.size(); ++k) {
    const std::int64_t width = 64 << k;
    const std::int64_t stride = k == 0 ? 1 : 2;
    auto layer = depth.bottleneck
                     ? makeLayer<BottleneckImpl>(channels, width, depth.blocks[k], stride)
                     : makeLayer<BasicBlockImpl>(channels, width, depth.blocks[k], stride);
    layers_.push_back(register_module(fmt::format("layer{}", k + 1), layer));
  }
  feature_channels_ = channels;
  if (options.include_top) fc_ = register_module("fc", nn::Linear(channels, options.num_classes));
  // torchvision leaves fc at PyTorch's default initialisation.
  initialiseLikeTorchvision(*this, /*linear_std=*/0.0);
}

std::vector<std::string> ResNetImpl::blockNames() const {
  return {"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"};
}

torch::Tensor ResNetImpl::forwardFeatures(torch::Tensor x) {
  x = torch::relu(bn1_(conv1_(x)));
  x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
  for (auto& layer : layers_) x = layer->forward(x);
  return x;
}

torch::Tensor ResNetImpl::forwardHead(torch::Tensor features) {
  return fc_(torch::flatten(torch::adaptive_avg_pool2d(features, {1, 1}), 1));
}

}  // namespace ferlab::models
