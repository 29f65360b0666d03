#pragma once
// What the four ImageNet backbones (Vgg, ResNet, MobileNetV2, Xception) share on top of the
// Backbone interface: the reference model's own classifier (include_top), its full forward
// computation, input checks, and torchvision's initialisation. Each backbone reproduces a
// Python model exactly (the same parameter and buffer names, shapes, order and forward
// computation), so a torchvision (or timm) `state_dict()` loads without renaming.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "framework/models/Backbone.h"

namespace ferlab::models {

/// Inputs are float32 [B, C, H, W] images normalised as the reference model expects
/// (ImageNet mean/std for torchvision, mean = std = 0.5 for Xception), with C the first
/// convolution's input channels: 3, or 1 once TransferModel has summed its filters.
class ImageNetBackboneImpl : public BackboneImpl {
 public:
  /// `architecture`: the reference model's name (e.g. "resnet50", "vgg16_bn").
  ImageNetBackboneImpl(std::string architecture, bool include_top);

  /// The reference model's full computation: x float32 [B, C, H, W] -> logits float32
  /// [B, num_classes]. Throws TrainError when built with include_top = false, and for a wrong
  /// input shape (as features()).
  torch::Tensor forward(torch::Tensor x);

  /// The last feature map, before global pooling and the classifier: x float32 [B, C, H, W]
  /// -> float32 [B, featureChannels(), h, w]. Works with and without include_top. Throws
  /// TrainError when x is not 4-D, its channels differ from the first convolution's, or H or W
  /// is below minInputSize().
  torch::Tensor features(torch::Tensor x) final;

  /// Block prefixes (see Backbone.h): every parameter and buffer outside the reference
  /// classifier ("classifier.*" or "fc.*") starts with exactly one of them followed by '.',
  /// and the blocks' parameters appear in this order in named_parameters().
  std::vector<std::string> blockNames() const override = 0;

  /// Smallest H and W the network computes on, pixels.
  virtual std::int64_t minInputSize() const = 0;

  /// The reference model's name, e.g. "vgg19_bn" or "xception".
  const std::string& architecture() const { return architecture_; }
  bool includeTop() const { return include_top_; }

 protected:
  /// The computations forward() and features() wrap once the input has been checked.
  virtual torch::Tensor forwardFeatures(torch::Tensor x) = 0;
  virtual torch::Tensor forwardHead(torch::Tensor features) = 0;

 private:
  void checkInput(const torch::Tensor& x) const;

  std::string architecture_;
  bool include_top_;
};

/// torchvision's initialisation (used by all four backbones): convolutions kaiming-normal
/// (fan_out, ReLU gain) with zero bias, BatchNorm weight 1 and bias 0, and Linear layers
/// normal(0, linear_std) with zero bias when linear_std > 0 (VGG, MobileNetV2), otherwise left
/// at LibTorch's default, which is PyTorch's (ResNet, Xception). Draws from LibTorch's global
/// generator.
void initialiseLikeTorchvision(torch::nn::Module& module, double linear_std);

/// Throws ConfigError "<what>: unsupported value <value> (expected one of <expected>)".
[[noreturn]] void throwUnsupported(const std::string& what, const std::string& value,
                                   const std::string& expected);

}  // namespace ferlab::models
