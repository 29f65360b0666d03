#pragma once
// A VGG-style CNN sized for training on a CPU in minutes (the quickstart and
// experiments/fast_cpu.toml): conv3x3 32 @48 px, then three stages of two conv3x3 at 64, 128
// and 256 channels (each after a 2x2 max-pool: 24, 12 and 6 px), every convolution followed
// by BatchNorm2d and ReLU; global average pooling, dropout, linear num_classes.
// About 95 M multiply-adds per 48 x 48 image, 1.2 M parameters.
//
// Why this shape: batch-norm after every convolution and no dense layer on a flattened map
// (global average pooling instead, as in Lin et al. 2014, "Network in Network") let it train
// at high learning rates with a one-cycle schedule and little dropout, so it gains more
// accuracy per epoch than simple_cnn, whose 2048 x 1024 dense layer needs heavy dropout.
// The block pattern is VGG's (Simonyan & Zisserman 2015), as in the FER2013 VGG variants of
// Khaireddin & Chen 2021, at a quarter of their width.

#include <torch/nn/modules/container/sequential.h>

#include "framework/models/Classifier.h"

namespace ferlab::models {

struct FastCnnOptions {
  int image_size = 48;  ///< input H = W, pixels (>= 8: three 2x2 pools)
  int num_classes = 7;
  bool batch_norm = true;
  double conv_dropout = 0.0;  ///< after each stage
  double fc_dropout = 0.2;    ///< before the linear classifier
};

class FastCnnImpl : public ClassifierImpl {
 public:
  explicit FastCnnImpl(const FastCnnOptions& options = {});
  /// x float32 [B, 1, S, S] -> logits float32 [B, num_classes].
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::nn::Sequential features_{nullptr}, classifier_{nullptr};
};
TORCH_MODULE(FastCnn);

}  // namespace ferlab::models
