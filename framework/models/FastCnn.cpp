#include "framework/models/FastCnn.h"

#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "framework/models/Layers.h"

namespace ferlab::models {

namespace nn = torch::nn;

FastCnnImpl::FastCnnImpl(const FastCnnOptions& options) {
  const bool bn = options.batch_norm;
  nn::Sequential features;
  appendConvBlock(features, 1, 32, 3, 1, bn, Activation::Relu);
  int in_channels = 32;
  for (const int width : {64, 128, 256}) {
    features->push_back(nn::MaxPool2d(2));
    appendConvBlock(features, in_channels, width, 3, 1, bn, Activation::Relu);
    appendConvBlock(features, width, width, 3, 1, bn, Activation::Relu);
    appendDropout(features, options.conv_dropout);
    in_channels = width;
  }
  features->push_back(nn::AdaptiveAvgPool2d(1));
  features->push_back(nn::Flatten());

  nn::Sequential classifier;
  appendDropout(classifier, options.fc_dropout);
  classifier->push_back(nn::Linear(in_channels, options.num_classes));

  features_ = register_module("features", features);
  classifier_ = register_module("classifier", classifier);
}

torch::Tensor FastCnnImpl::forward(torch::Tensor x) {
  return classifier_->forward(features_->forward(x));
}

}  // namespace ferlab::models
