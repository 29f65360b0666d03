#include "framework/models/Layers.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::models {

namespace nn = torch::nn;

void appendConvBlock(nn::Sequential& layers, int in_channels, int out_channels, int kernel,
                     int padding, bool batch_norm, Activation activation) {
  layers->push_back(
      nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, kernel).padding(padding)));
  if (batch_norm) layers->push_back(nn::BatchNorm2d(out_channels));
  if (activation == Activation::Relu) {
    layers->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
  } else {
    layers->push_back(nn::ELU(nn::ELUOptions().inplace(true)));
  }
}

void appendDropout(nn::Sequential& layers, double p) {
  if (p > 0.0) layers->push_back(nn::Dropout(p));
}

std::int64_t flattenedSize(nn::Sequential& layers, int channels, int size, const char* model_name) {
  torch::NoGradGuard no_grad;
  const bool was_training = layers->is_training();
  layers->eval();  // BatchNorm in training mode rejects a batch of one
  try {
    const auto features = layers->forward(torch::zeros({1, channels, size, size}));
    layers->train(was_training);
    if (features.numel() == 0) throw std::runtime_error("empty feature map");
    return features.numel();
  } catch (const std::exception&) {
    throw ConfigError(fmt::format("model '{}' cannot take {}x{} inputs (data.image_size too small)",
                                  model_name, size, size));
  }
}

}  // namespace ferlab::models
