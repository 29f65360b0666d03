#include "framework/models/SimpleCnn.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "framework/models/Layers.h"

namespace ferlab::models {

namespace nn = torch::nn;

SimpleCnnImpl::SimpleCnnImpl(const SimpleCnnOptions& options) {
  const bool bn = options.batch_norm;
  nn::Sequential features;
  appendConvBlock(features, 1, 32, 3, 0, bn, Activation::Relu);
  appendConvBlock(features, 32, 64, 3, 0, bn, Activation::Relu);
  features->push_back(nn::MaxPool2d(2));
  appendDropout(features, options.conv_dropout);
  appendConvBlock(features, 64, 128, 3, 0, bn, Activation::Relu);
  features->push_back(nn::MaxPool2d(2));
  appendConvBlock(features, 128, 128, 3, 0, bn, Activation::Relu);
  features->push_back(nn::MaxPool2d(2));
  appendDropout(features, options.conv_dropout);
  features->push_back(nn::Flatten());
  const auto flat = flattenedSize(features, 1, options.image_size, "simple_cnn");

  nn::Sequential classifier;
  classifier->push_back(nn::Linear(flat, 1024));
  classifier->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
  appendDropout(classifier, options.fc_dropout);
  classifier->push_back(nn::Linear(1024, options.num_classes));

  features_ = register_module("features", features);
  classifier_ = register_module("classifier", classifier);
}

torch::Tensor SimpleCnnImpl::forward(torch::Tensor x) {
  return classifier_->forward(features_->forward(x));
}

}  // namespace ferlab::models
