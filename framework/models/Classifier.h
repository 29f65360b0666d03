#pragma once
// The interface every FERLab network implements: images in, class logits out.

#include <torch/nn/module.h>
#include <torch/types.h>

namespace ferlab::models {

/// Base of all classifiers. forward(): x float32 [B, C, H, W] (normalised pixels; C = 1 for
/// the from-scratch family) -> logits float32 [B, num_classes] (no softmax).
class ClassifierImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

}  // namespace ferlab::models
