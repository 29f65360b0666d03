#pragma once
// A BatchNorm + ELU CNN with dropout, after the seeds' description of the ELU network
// popular on Kaggle's FER2013 notebooks (ELU: Clevert et al. 2016, arXiv:1511.07289).
// FERLab's design:
//   stage 1: 2 x [conv5x5 64 pad 2, BatchNorm, ELU], maxpool 2, dropout conv_dropout
//   stage 2: 2 x [conv3x3 128 pad 1, BatchNorm, ELU], maxpool 2, dropout conv_dropout
//   stage 3: 2 x [conv3x3 256 pad 1, BatchNorm, ELU], maxpool 2, dropout conv_dropout
//   flatten (256 x 6 x 6 at 48 x 48), linear 128, BatchNorm1d, ELU, dropout fc_dropout,
//   linear num_classes.
// Without batch_norm the BatchNorm layers are left out.

#include <torch/nn/modules/container/sequential.h>

#include "framework/models/Classifier.h"

namespace ferlab::models {

struct EluCnnOptions {
  int image_size = 48;  ///< input H = W, pixels (>= 8: three 2x poolings)
  int num_classes = 7;
  bool batch_norm = true;
  double conv_dropout = 0.4;
  double fc_dropout = 0.5;
};

class EluCnnImpl : public ClassifierImpl {
 public:
  explicit EluCnnImpl(const EluCnnOptions& options = {});
  /// x float32 [B, 1, S, S] -> logits float32 [B, num_classes].
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::nn::Sequential features_{nullptr}, classifier_{nullptr};
};
TORCH_MODULE(EluCnn);

}  // namespace ferlab::models
