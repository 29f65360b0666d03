#pragma once
// The interface every FERLab network implements: images in, class logits out, plus the
// names a freeze / fine-tune schedule (`[[train.phases]]`) uses to pick what trains.

#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace ferlab::models {

/// Base of all classifiers. forward(): x float32 [B, C, H, W] (normalised pixels; C = 1 for
/// FER's grey images) -> logits float32 [B, num_classes] (no softmax).
class ClassifierImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;

  /// Blocks from input to output as parameter-name prefixes. Default: the top-level
  /// children ("features", "classifier").
  virtual std::vector<std::string> blockNames() const;
  /// Whether a parameter belongs to the head, which trains in every phase except "none".
  /// Default: parameters under "classifier".
  virtual bool isHeadParameter(const std::string& name) const;
  /// The parameter-name prefix of a block as a user writes it in a phase ("layer4" is
  /// "backbone.layer4" inside a transfer model). Default: unchanged.
  virtual std::string parameterPrefix(const std::string& block) const { return block; }
};

}  // namespace ferlab::models
