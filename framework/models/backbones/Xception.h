#pragma once
// Xception (Chollet 2017, "Xception: Deep Learning with Depthwise Separable Convolutions"; the
// Keras application) with the parameter names and shapes of timm's `legacy_xception`
// (timm/models/xception.py, the Cadene/tstandley port of the Keras weights):
//   conv1 3x3/2 32 valid (no bias), bn1, ReLU, conv2 3x3 64 valid, bn2, ReLU
//   block1..block12  residual blocks: `rep` is a Sequential of [ReLU,] SeparableConv2d 3x3
//                    (`conv1` depthwise + `pointwise` 1x1, no biases), BatchNorm2d, ...,
//                    then MaxPool 3x3/2 pad 1 in the strided blocks; `skip` (1x1 conv, the
//                    block's stride) + `skipbn` where the shape changes, identity otherwise.
//                    Widths: block1 64->128 (no leading ReLU), block2 ->256, block3 ->728,
//                    block4..11 728 (three separable convs each), block12 728->1024 (widens
//                    on its second conv)
//   conv3 SeparableConv2d 1024->1536, bn3, ReLU, conv4 SeparableConv2d 1536->2048, bn4, ReLU
//   avgpool to 1 x 1, flatten, fc Linear(2048, num_classes)
// Parameters: 22,855,952 with the 1000-class fc (Keras's trainable count; its 54,528
// non-trainable ones are the BatchNorm running statistics, buffers here), 20,806,952 without.
// Pretrained weights expect 299 x 299 inputs normalised with mean = std = 0.5.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "framework/models/backbones/ImageNetBackbone.h"

namespace ferlab::models {

struct XceptionOptions {
  std::int64_t num_classes = 1000;
  bool include_top = true;  ///< false: no fc; forward() throws, features() works
};

/// Depthwise 3x3 (`conv1`, groups = in) followed by pointwise 1x1 (`pointwise`), no biases:
/// x [B, in, H, W] -> [B, out, H, W] with the defaults (padding 1, stride 1).
struct SeparableConv2dOptions {
  SeparableConv2dOptions(std::int64_t in, std::int64_t out) : in_channels(in), out_channels(out) {}
  std::int64_t in_channels;
  std::int64_t out_channels;
  std::int64_t kernel_size = 3;
  std::int64_t stride = 1;
  std::int64_t padding = 1;
};

class SeparableConv2dImpl : public torch::nn::Module {
 public:
  explicit SeparableConv2dImpl(const SeparableConv2dOptions& options);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, pointwise_{nullptr};
};
TORCH_MODULE(SeparableConv2d);

/// One Xception residual block (timm's `Block`): x [B, in, H, W] -> [B, out, H/stride (rounded
/// up), W/stride].
struct XceptionBlockOptions {
  XceptionBlockOptions(std::int64_t in, std::int64_t out) : in_channels(in), out_channels(out) {}
  std::int64_t in_channels;
  std::int64_t out_channels;
  int repeats = 2;              ///< separable convolutions in `rep`
  std::int64_t stride = 1;      ///< 2 appends MaxPool 3x3/2 pad 1 to `rep`
  bool start_with_relu = true;  ///< false only for block1, which follows the stem's ReLU
  bool grow_first = true;       ///< widen on the first conv (true) or the last (block12)
};

class XceptionBlockImpl : public torch::nn::Module {
 public:
  explicit XceptionBlockImpl(const XceptionBlockOptions& options);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::Conv2d skip_{nullptr};  // registered before `rep`, as in timm
  torch::nn::BatchNorm2d skipbn_{nullptr};
  torch::nn::Sequential rep_{nullptr};
};
TORCH_MODULE(XceptionBlock);

class XceptionImpl : public ImageNetBackboneImpl {
 public:
  explicit XceptionImpl(const XceptionOptions& options = {});

  /// 2048. features(): [B, 2048, ceil(s / 16), ...] with s = floor((H - 3) / 2) - 1 after the
  /// two unpadded stem convolutions: 10 x 10 at 299, 3 x 3 at 71.
  std::int64_t featureChannels() const override { return 2048; }
  /// {"conv1", "bn1", "conv2", "bn2", "block1", ..., "block12", "conv3", "bn3", "conv4",
  /// "bn4"}.
  std::vector<std::string> blockNames() const override;
  /// 7: the two unpadded stem convolutions need 3 x 3 after the first; Keras documents 71 as
  /// the smallest size for its pretrained weights.
  std::int64_t minInputSize() const override { return 7; }

 protected:
  torch::Tensor forwardFeatures(torch::Tensor x) override;
  torch::Tensor forwardHead(torch::Tensor features) override;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr}, bn4_{nullptr};
  std::vector<XceptionBlock> blocks_;
  SeparableConv2d conv3_{nullptr}, conv4_{nullptr};
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(Xception);

}  // namespace ferlab::models
