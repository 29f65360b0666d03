#include "framework/models/TransferModel.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::models {
namespace {

namespace nn = torch::nn;

float channelMean(const std::array<float, 3>& values) {
  return (values[0] + values[1] + values[2]) / 3.0f;
}

void appendActivation(nn::Sequential& layers, config::Activation activation) {
  switch (activation) {
    case config::Activation::Relu:
      layers->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
      return;
    case config::Activation::Elu:
      layers->push_back(nn::ELU(nn::ELUOptions().inplace(true)));
      return;
    case config::Activation::Gelu:
      layers->push_back(nn::GELU());
      return;
    case config::Activation::None:
      return;
  }
}

}  // namespace

torch::Tensor GaussianNoiseImpl::forward(torch::Tensor x) {
  if (!is_training() || std_ <= 0.0) return x;
  return x + torch::randn_like(x) * std_;
}

TransferModelImpl::TransferModelImpl(std::shared_ptr<BackboneImpl> backbone,
                                     const TransferModelOptions& options)
    : backbone_(std::move(backbone)), options_(options) {
  register_module("backbone", backbone_);
  nn::Sequential head;
  std::int64_t width = backbone_->featureChannels();
  for (const auto& layer : options.head) {
    head->push_back(nn::Linear(width, layer.units));
    if (layer.batch_norm) head->push_back(nn::BatchNorm1d(layer.units));
    appendActivation(head, layer.activation);
    if (layer.gaussian_noise > 0.0) head->push_back(GaussianNoise(layer.gaussian_noise));
    if (layer.dropout > 0.0) head->push_back(nn::Dropout(layer.dropout));
    width = layer.units;
  }
  head_ = register_module("head", head);
  classifier_ = register_module("classifier", nn::Linear(width, options.num_classes));
  if (options_.input_channels == config::InputChannels::SumConv1) collapseFirstConvToGrey();
}

void TransferModelImpl::collapseFirstConvToGrey() {
  torch::NoGradGuard no_grad;
  // The first 4-D parameter is the first convolution in every torchvision / timm backbone:
  // modules register their children from input to output.
  for (auto& parameter : backbone_->parameters()) {
    if (parameter.dim() != 4) continue;
    if (parameter.size(1) == 3) parameter.set_data(parameter.sum(1, /*keepdim=*/true));
    return;
  }
}

torch::Tensor TransferModelImpl::adaptInput(torch::Tensor x) const {
  // Pretrained weights expect their own statistics: back to grey in [0, 1] first.
  auto grey = options_.pretrained ? x * options_.data_std + options_.data_mean : x;
  const int size = options_.input_size > 0 ? options_.input_size : options_.image_size;
  if (size != grey.size(-1)) {
    namespace F = torch::nn::functional;
    grey = F::interpolate(grey, F::InterpolateFuncOptions()
                                    .size(std::vector<std::int64_t>{size, size})
                                    .mode(torch::kBilinear)
                                    .align_corners(false));
  }
  const bool one_channel = options_.input_channels == config::InputChannels::SumConv1;
  if (!options_.pretrained) return one_channel ? grey : grey.expand({-1, 3, -1, -1});
  const auto& mean = options_.rgb_mean;
  const auto& std = options_.rgb_std;
  if (one_channel) {
    // The summed filters see one channel: its statistics are the channel means.
    return (grey - channelMean(mean)) / channelMean(std);
  }
  const auto on_device = grey.options();
  const auto mean_tensor = torch::tensor({mean[0], mean[1], mean[2]}, on_device).view({1, 3, 1, 1});
  const auto std_tensor = torch::tensor({std[0], std[1], std[2]}, on_device).view({1, 3, 1, 1});
  return (grey.expand({-1, 3, -1, -1}) - mean_tensor) / std_tensor;
}

std::vector<std::string> TransferModelImpl::blockNames() const {
  std::vector<std::string> names;
  for (const auto& block : backbone_->blockNames()) names.push_back("backbone." + block);
  return names;
}

bool TransferModelImpl::isHeadParameter(const std::string& name) const {
  return name.rfind("backbone.", 0) != 0;
}

std::string TransferModelImpl::parameterPrefix(const std::string& block) const {
  return block.rfind("backbone.", 0) == 0 ? block : "backbone." + block;
}

torch::Tensor TransferModelImpl::forward(torch::Tensor x) {
  auto pooled = backbone_->features(adaptInput(x)).mean({2, 3});
  if (!head_->is_empty()) pooled = head_->forward(pooled);
  return classifier_->forward(pooled);
}

}  // namespace ferlab::models
