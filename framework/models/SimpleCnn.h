#pragma once
// The widely used Keras FER2013 CNN (the seeds' "custom CNN", about 62% after 50 epochs):
// conv3x3 32 (valid) ReLU, conv3x3 64 ReLU, maxpool 2, dropout .25, conv3x3 128 ReLU,
// maxpool 2, conv3x3 128 ReLU, maxpool 2, dropout .25, flatten (2048 at 48 x 48),
// linear 1024 ReLU, dropout .5, linear num_classes. With batch_norm, a BatchNorm2d follows
// each convolution (before its ReLU).

#include <torch/nn/modules/container/sequential.h>

#include "framework/models/Classifier.h"

namespace ferlab::models {

struct SimpleCnnOptions {
  int image_size = 48;  ///< input H = W, pixels
  int num_classes = 7;
  bool batch_norm = false;
  double conv_dropout = 0.25;
  double fc_dropout = 0.5;
};

class SimpleCnnImpl : public ClassifierImpl {
 public:
  explicit SimpleCnnImpl(const SimpleCnnOptions& options = {});
  /// x float32 [B, 1, S, S] -> logits float32 [B, num_classes].
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::nn::Sequential features_{nullptr}, classifier_{nullptr};
};
TORCH_MODULE(SimpleCnn);

}  // namespace ferlab::models
