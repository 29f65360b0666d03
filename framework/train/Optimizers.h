#pragma once
// Builds the optimiser named by `train.optimizer` over the given parameters (LibTorch's
// torch::optim implementations of SGD (momentum, Nesterov), Adam (Kingma & Ba 2015) and
// AdamW (Loshchilov & Hutter 2019, decoupled weight decay)).

#include <memory>
#include <vector>

#include <torch/optim/optimizer.h>

#include "framework/config/RunConfig.h"

namespace ferlab::train {

/// Throws ConfigError for an unknown optimiser name.
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const config::TrainConfig& config,
                                                       std::vector<torch::Tensor> parameters);

/// Sets the learning rate of every parameter group.
void setLearningRate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace ferlab::train
