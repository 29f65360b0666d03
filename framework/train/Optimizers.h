#pragma once
// Builds the optimiser of a training phase (LibTorch's torch::optim implementations of SGD
// with momentum / Nesterov, Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019,
// decoupled weight decay)), one parameter group per learning rate.

#include <memory>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>

#include "framework/config/RunConfig.h"
#include "framework/train/Phases.h"

namespace ferlab::train {

/// torch.optim's SGD, Adam or AdamW; momentum, nesterov and weight decay come from `config`,
/// each group's learning rate from the group.
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(config::Optimizer optimizer,
                                                       const config::TrainConfig& config,
                                                       const std::vector<ParameterGroup>& groups);

/// Sets group i's learning rate to lrs[i].
void setLearningRates(torch::optim::Optimizer& optimizer, const std::vector<double>& lrs);

}  // namespace ferlab::train
