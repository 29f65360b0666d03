#pragma once
// MobileNetV2 at width 1.0 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear
// Bottlenecks") exactly as torchvision 0.14's mobilenet_v2:
//   features.0      conv3x3/2 32 (no bias) .0, BatchNorm .1, ReLU6
//   features.1..17  InvertedResidual blocks (t, c, n, s) = (1,16,1,1) (6,24,2,2) (6,32,3,2)
//                   (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1): features.i.conv.0.{0,1}
//                   1x1 expansion + BN (absent when t = 1), then the 3x3 depthwise conv + BN,
//                   then the linear 1x1 projection conv + BN (features.i.conv.{N,N+1});
//                   identity shortcut when the stride is 1 and the width is unchanged
//   features.18     conv1x1 1280 .0, BatchNorm .1, ReLU6
//   avgpool to 1 x 1, flatten, classifier.0 Dropout(0.2), classifier.1 Linear(1280, classes)

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>

#include "framework/models/backbones/ImageNetBackbone.h"

namespace ferlab::models {

struct MobileNetV2Options {
  std::int64_t num_classes = 1000;
  bool include_top = true;  ///< false: no classifier; forward() throws, features() works
  double dropout = 0.2;     ///< before the classifier's Linear, as torchvision
};

class MobileNetV2Impl : public ImageNetBackboneImpl {
 public:
  explicit MobileNetV2Impl(const MobileNetV2Options& options = {});

  /// 1280. features(): [B, 1280, ceil(H/32), ceil(W/32)].
  std::int64_t featureChannels() const override { return 1280; }
  /// {"features.0", ..., "features.18"}.
  std::vector<std::string> blockNames() const override;
  /// 1: padding keeps every stage at least 1 x 1.
  std::int64_t minInputSize() const override { return 1; }

 protected:
  torch::Tensor forwardFeatures(torch::Tensor x) override;
  torch::Tensor forwardHead(torch::Tensor features) override;

 private:
  torch::nn::Sequential features_{nullptr}, classifier_{nullptr};
};
TORCH_MODULE(MobileNetV2);

}  // namespace ferlab::models
