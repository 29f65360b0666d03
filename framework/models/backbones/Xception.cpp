#include "framework/models/backbones/Xception.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>

#include <fmt/format.h>

namespace ferlab::models {

namespace nn = torch::nn;

SeparableConv2dImpl::SeparableConv2dImpl(const SeparableConv2dOptions& options) {
  const auto in = options.in_channels;
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, in, options.kernel_size)
                                                   .stride(options.stride)
                                                   .padding(options.padding)
                                                   .groups(in)
                                                   .bias(false)));
  pointwise_ = register_module(
      "pointwise", nn::Conv2d(nn::Conv2dOptions(in, options.out_channels, 1).bias(false)));
}

torch::Tensor SeparableConv2dImpl::forward(torch::Tensor x) {
  return pointwise_(conv1_(x));
}

XceptionBlockImpl::XceptionBlockImpl(const XceptionBlockOptions& options) {
  const auto in = options.in_channels, out = options.out_channels;
  if (out != in || options.stride != 1) {
    skip_ = register_module(
        "skip", nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(options.stride).bias(false)));
    skipbn_ = register_module("skipbn", nn::BatchNorm2d(out));
  }
  nn::Sequential rep;
  for (int i = 0; i < options.repeats; ++i) {
    // grow_first widens on the first conv; otherwise the width changes on the last one.
    const bool last = i == options.repeats - 1;
    const auto conv_in = options.grow_first ? (i == 0 ? in : out) : in;
    const auto conv_out = options.grow_first ? out : (last ? out : in);
    if (i > 0 || options.start_with_relu) {
      // Not in place on the block input: the shortcut still needs it.
      rep->push_back(nn::ReLU(nn::ReLUOptions().inplace(i > 0)));
    }
    rep->push_back(SeparableConv2d(SeparableConv2dOptions(conv_in, conv_out)));
    rep->push_back(nn::BatchNorm2d(conv_out));
  }
  if (options.stride != 1) {
    rep->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(options.stride).padding(1)));
  }
  rep_ = register_module("rep", rep);
}

torch::Tensor XceptionBlockImpl::forward(torch::Tensor x) {
  const auto shortcut = skip_.is_empty() ? x : skipbn_(skip_(x));
  return rep_->forward(x) + shortcut;
}

namespace {

// The twelve blocks of timm's Xception (Keras blocks 2..13): entry flow, middle flow (eight
// identical 728-wide blocks), and the exit flow's widening block.
std::vector<XceptionBlockOptions> blockTable() {
  std::vector<XceptionBlockOptions> table;
  auto strided = [](std::int64_t in, std::int64_t out) {
    XceptionBlockOptions options(in, out);
    options.stride = 2;
    return options;
  };
  table.push_back(strided(64, 128));
  table.back().start_with_relu = false;
  table.push_back(strided(128, 256));
  table.push_back(strided(256, 728));
  for (int i = 0; i < 8; ++i) {
    table.emplace_back(728, 728);
    table.back().repeats = 3;
  }
  table.push_back(strided(728, 1024));
  table.back().grow_first = false;
  return table;
}

nn::Conv2d stemConv(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).bias(false));  // valid
}

}  // namespace

XceptionImpl::XceptionImpl(const XceptionOptions& options)
    : ImageNetBackboneImpl("xception", options.include_top) {
  conv1_ = register_module("conv1", stemConv(3, 32, 2));
  bn1_ = register_module("bn1", nn::BatchNorm2d(32));
  conv2_ = register_module("conv2", stemConv(32, 64, 1));
  bn2_ = register_module("bn2", nn::BatchNorm2d(64));
  const auto table = blockTable();
  for (std::size_t i = 0; i < table.size(); ++i) {
    blocks_.push_back(register_module(fmt::format("block{}", i + 1), XceptionBlock(table[i])));
  }
  conv3_ = register_module("conv3", SeparableConv2d(SeparableConv2dOptions(1024, 1536)));
  bn3_ = register_module("bn3", nn::BatchNorm2d(1536));
  conv4_ = register_module("conv4", SeparableConv2d(SeparableConv2dOptions(1536, 2048)));
  bn4_ = register_module("bn4", nn::BatchNorm2d(2048));
  if (options.include_top) fc_ = register_module("fc", nn::Linear(2048, options.num_classes));
  // timm leaves fc at PyTorch's default initialisation.
  initialiseLikeTorchvision(*this, /*linear_std=*/0.0);
}

std::vector<std::string> XceptionImpl::blockNames() const {
  std::vector<std::string> names{"conv1", "bn1", "conv2", "bn2"};
  for (std::size_t i = 0; i < blocks_.size(); ++i) names.push_back(fmt::format("block{}", i + 1));
  for (const char* name : {"conv3", "bn3", "conv4", "bn4"}) names.emplace_back(name);
  return names;
}

torch::Tensor XceptionImpl::forwardFeatures(torch::Tensor x) {
  x = torch::relu(bn1_(conv1_(x)));
  x = torch::relu(bn2_(conv2_(x)));
  for (auto& block : blocks_) x = block(x);
  x = torch::relu(bn3_(conv3_(x)));
  return torch::relu(bn4_(conv4_(x)));
}

torch::Tensor XceptionImpl::forwardHead(torch::Tensor features) {
  return fc_(torch::flatten(torch::adaptive_avg_pool2d(features, {1, 1}), 1));
}

}  // namespace ferlab::models
