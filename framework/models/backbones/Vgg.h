#pragma once
// VGG-16 and VGG-19 (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks for
// Large-Scale Image Recognition", configurations D and E), optionally with BatchNorm after each
// convolution, exactly as torchvision 0.14's vgg16 / vgg16_bn / vgg19 / vgg19_bn:
//   features    Sequential of conv3x3 pad 1 (bias) [-> BatchNorm2d] -> ReLU, with MaxPool2d(2)
//               after each of the five stages; names features.N.{weight,bias,running_*}
//   avgpool     AdaptiveAvgPool2d((7, 7))
//   classifier  Linear(25088, 4096), ReLU, Dropout(0.5), Linear(4096, 4096), ReLU,
//               Dropout(0.5), Linear(4096, num_classes): classifier.{0,3,6}.*
// The classifier holds 120M of VGG-16's 138M parameters: include_top = false drops it.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>

#include "framework/models/backbones/ImageNetBackbone.h"

namespace ferlab::models {

struct VggOptions {
  int depth = 16;           ///< 16 (configuration D) or 19 (configuration E)
  bool batch_norm = false;  ///< torchvision's *_bn variants
  std::int64_t num_classes = 1000;
  bool include_top = true;  ///< false: no avgpool/classifier; forward() throws, features() works
  double dropout = 0.5;     ///< in the classifier, as torchvision
};

class VggImpl : public ImageNetBackboneImpl {
 public:
  /// Throws ConfigError for a depth other than 16 or 19.
  explicit VggImpl(const VggOptions& options = {});

  /// 512.
  std::int64_t featureChannels() const override { return 512; }
  /// "features.N" for every convolution and BatchNorm layer, in order (13 or 16 convolutions,
  /// twice as many prefixes with batch_norm). features() output:
  /// [B, 512, floor(H / 32), floor(W / 32)].
  std::vector<std::string> blockNames() const override { return block_names_; }
  /// 32: five 2x poolings.
  std::int64_t minInputSize() const override { return 32; }

 protected:
  torch::Tensor forwardFeatures(torch::Tensor x) override;
  torch::Tensor forwardHead(torch::Tensor features) override;

 private:
  torch::nn::Sequential features_{nullptr}, classifier_{nullptr};
  std::vector<std::string> block_names_;
};
TORCH_MODULE(Vgg);

}  // namespace ferlab::models
