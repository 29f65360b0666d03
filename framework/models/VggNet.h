#pragma once
// VGGNet for FER2013 of Khaireddin & Chen 2021, "Facial Emotion Recognition: State of the
// Art Performance on FER2013" (arXiv:2105.03588; 73.28% single-network PrivateTest accuracy):
// four stages of 2 x [conv3x3 pad 1, BatchNorm, ReLU] + maxpool 2 with widths
// 64/128/256/512, then linear 4096, ReLU, dropout, linear 4096, ReLU, dropout, linear
// num_classes. The paper's code uses dropout 0.2. At 48 x 48 the flattened feature is
// 512 x 3 x 3 = 4608.

#include <torch/nn/modules/container/sequential.h>

#include "framework/models/Classifier.h"

namespace ferlab::models {

struct VggNetOptions {
  int image_size = 48;  ///< input H = W, pixels (>= 16: four 2x poolings)
  int num_classes = 7;
  bool batch_norm = true;
  double conv_dropout = 0.0;  ///< after each stage's pooling (0 in the paper)
  double fc_dropout = 0.2;
};

class VggNetImpl : public ClassifierImpl {
 public:
  explicit VggNetImpl(const VggNetOptions& options = {});
  /// x float32 [B, 1, S, S] -> logits float32 [B, num_classes].
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::nn::Sequential features_{nullptr}, classifier_{nullptr};
};
TORCH_MODULE(VggNet);

}  // namespace ferlab::models
