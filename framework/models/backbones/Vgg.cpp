#include "framework/models/backbones/Vgg.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <fmt/format.h>

namespace ferlab::models {

namespace nn = torch::nn;

namespace {

constexpr int kPool = 0;  // a max-pooling step in a configuration

// torchvision's `cfgs`: output widths of the 3x3 convolutions, kPool for MaxPool2d(2).
std::vector<int> configuration(int depth) {
  if (depth == 16) {
    return {64,    64,  kPool, 128, 128,   kPool, 256, 256, 256,
            kPool, 512, 512,   512, kPool, 512,   512, 512, kPool};
  }
  if (depth == 19) {
    return {64,  64,  kPool, 128, 128,   kPool, 256, 256, 256, 256,  kPool,
            512, 512, 512,   512, kPool, 512,   512, 512, 512, kPool};
  }
  throwUnsupported("vgg depth", std::to_string(depth), "16, 19");
}

std::string architectureName(const VggOptions& options) {
  return fmt::format("vgg{}{}", options.depth, options.batch_norm ? "_bn" : "");
}

nn::Sequential makeClassifier(const VggOptions& options) {
  nn::Sequential classifier;
  classifier->push_back(nn::Linear(512 * 7 * 7, 4096));
  classifier->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
  classifier->push_back(nn::Dropout(options.dropout));
  classifier->push_back(nn::Linear(4096, 4096));
  classifier->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
  classifier->push_back(nn::Dropout(options.dropout));
  classifier->push_back(nn::Linear(4096, options.num_classes));
  return classifier;
}

}  // namespace

VggImpl::VggImpl(const VggOptions& options)
    : ImageNetBackboneImpl(architectureName(options), options.include_top) {
  nn::Sequential features;
  std::int64_t in_channels = 3;
  for (const int width : configuration(options.depth)) {
    if (width == kPool) {
      features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
      continue;
    }
    block_names_.push_back(fmt::format("features.{}", features->size()));
    features->push_back(nn::Conv2d(nn::Conv2dOptions(in_channels, width, 3).padding(1)));
    if (options.batch_norm) {
      block_names_.push_back(fmt::format("features.{}", features->size()));
      features->push_back(nn::BatchNorm2d(width));
    }
    features->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
    in_channels = width;
  }
  features_ = register_module("features", features);
  if (options.include_top) classifier_ = register_module("classifier", makeClassifier(options));
  initialiseLikeTorchvision(*this, /*linear_std=*/0.01);
}

torch::Tensor VggImpl::forwardFeatures(torch::Tensor x) {
  return features_->forward(x);
}

torch::Tensor VggImpl::forwardHead(torch::Tensor features) {
  // torchvision pools to 7 x 7 whatever the input size, so the classifier always sees 25088.
  auto pooled = torch::adaptive_avg_pool2d(features, {7, 7});
  return classifier_->forward(torch::flatten(pooled, 1));
}

}  // namespace ferlab::models
