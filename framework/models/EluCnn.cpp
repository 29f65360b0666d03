#include "framework/models/EluCnn.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "framework/models/Layers.h"

namespace ferlab::models {

namespace nn = torch::nn;

EluCnnImpl::EluCnnImpl(const EluCnnOptions& options) {
  const bool bn = options.batch_norm;
  struct Stage {
    int width, kernel, padding;
  };
  nn::Sequential features;
  int in_channels = 1;
  for (const Stage& stage : {Stage{64, 5, 2}, Stage{128, 3, 1}, Stage{256, 3, 1}}) {
    appendConvBlock(features, in_channels, stage.width, stage.kernel, stage.padding, bn,
                    Activation::Elu);
    appendConvBlock(features, stage.width, stage.width, stage.kernel, stage.padding, bn,
                    Activation::Elu);
    features->push_back(nn::MaxPool2d(2));
    appendDropout(features, options.conv_dropout);
    in_channels = stage.width;
  }
  features->push_back(nn::Flatten());
  const auto flat = flattenedSize(features, 1, options.image_size, "elu_cnn");

  nn::Sequential classifier;
  classifier->push_back(nn::Linear(flat, 128));
  if (bn) classifier->push_back(nn::BatchNorm1d(128));
  classifier->push_back(nn::ELU(nn::ELUOptions().inplace(true)));
  appendDropout(classifier, options.fc_dropout);
  classifier->push_back(nn::Linear(128, options.num_classes));

  features_ = register_module("features", features);
  classifier_ = register_module("classifier", classifier);
}

torch::Tensor EluCnnImpl::forward(torch::Tensor x) {
  return classifier_->forward(features_->forward(x));
}

}  // namespace ferlab::models
