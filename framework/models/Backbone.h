#pragma once
// The interface FERLab's ImageNet backbones implement (framework/models/backbones/), so a
// transfer model can pool their last feature map, and a freeze / fine-tune schedule can name
// their blocks. Parameter names follow torchvision (timm for Xception) exactly, so weight
// files load without renaming.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace ferlab::models {

class BackboneImpl : public torch::nn::Module {
 public:
  /// x float32 [B, 3, H, W] (ImageNet-normalised RGB) -> last feature map float32
  /// [B, featureChannels(), h, w], before global pooling and the classifier.
  virtual torch::Tensor features(torch::Tensor x) = 0;
  /// Channels of the features() map (VGG 512, ResNet-50 2048, ...).
  virtual std::int64_t featureChannels() const = 0;
  /// Top-level blocks from input to output, as parameter-name prefixes ("layer1", ...).
  virtual std::vector<std::string> blockNames() const = 0;
};

}  // namespace ferlab::models
