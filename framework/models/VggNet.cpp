#include "framework/models/VggNet.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "framework/models/Layers.h"

namespace ferlab::models {

namespace nn = torch::nn;

VggNetImpl::VggNetImpl(const VggNetOptions& options) {
  nn::Sequential features;
  int in_channels = 1;
  for (const int width : {64, 128, 256, 512}) {
    appendConvBlock(features, in_channels, width, 3, 1, options.batch_norm, Activation::Relu);
    appendConvBlock(features, width, width, 3, 1, options.batch_norm, Activation::Relu);
    features->push_back(nn::MaxPool2d(2));
    appendDropout(features, options.conv_dropout);
    in_channels = width;
  }
  features->push_back(nn::Flatten());
  const auto flat = flattenedSize(features, 1, options.image_size, "vggnet");

  nn::Sequential classifier;
  for (const std::int64_t in_features : {flat, std::int64_t{4096}}) {
    classifier->push_back(nn::Linear(in_features, 4096));
    classifier->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
    appendDropout(classifier, options.fc_dropout);
  }
  classifier->push_back(nn::Linear(4096, options.num_classes));

  features_ = register_module("features", features);
  classifier_ = register_module("classifier", classifier);
}

torch::Tensor VggNetImpl::forward(torch::Tensor x) {
  return classifier_->forward(features_->forward(x));
}

}  // namespace ferlab::models
