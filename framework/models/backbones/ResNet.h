#pragma once
// ResNet-18 and ResNet-50 (He et al. 2016, "Deep Residual Learning for Image Recognition")
// exactly as torchvision 0.14's resnet18 / resnet50, i.e. "ResNet v1.5": a Bottleneck strides
// on its 3x3 convolution, not on the first 1x1.
//   conv1 7x7/2 (no bias), bn1, ReLU, MaxPool 3x3/2 pad 1
//   layer1..layer4  BasicBlock x [2, 2, 2, 2] (resnet18) or Bottleneck x [3, 4, 6, 3]
//                   (resnet50), widths 64/128/256/512 (x4 for Bottleneck), stride 2 from
//                   layer2 on; names layerK.I.{conv1,bn1,conv2,bn2[,conv3,bn3]} and
//                   layerK.I.downsample.{0,1} (1x1 conv + BatchNorm) where the shape changes
//   avgpool to 1 x 1, flatten, fc Linear(512 or 2048, num_classes)

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "framework/models/backbones/ImageNetBackbone.h"

namespace ferlab::models {

struct ResNetOptions {
  int depth = 18;  ///< 18 (BasicBlock) or 50 (Bottleneck)
  std::int64_t num_classes = 1000;
  bool include_top = true;  ///< false: no fc; forward() throws, features() works
};

class ResNetImpl : public ImageNetBackboneImpl {
 public:
  /// Throws ConfigError for a depth other than 18 or 50.
  explicit ResNetImpl(const ResNetOptions& options = {});

  /// 512 (resnet18) or 2048 (resnet50). features(): [B, C, ceil(H/32), ceil(W/32)].
  std::int64_t featureChannels() const override { return feature_channels_; }
  /// {"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"}.
  std::vector<std::string> blockNames() const override;
  /// 1: padding keeps every stage at least 1 x 1.
  std::int64_t minInputSize() const override { return 1; }

 protected:
  torch::Tensor forwardFeatures(torch::Tensor x) override;
  torch::Tensor forwardHead(torch::Tensor features) override;

 private:
  std::int64_t feature_channels_ = 0;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::vector<torch::nn::Sequential> layers_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace ferlab::models
