#include "framework/train/Optimizers.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::train {

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const config::TrainConfig& config,
                                                       std::vector<torch::Tensor> parameters) {
  using namespace torch::optim;
  if (config.optimizer == "sgd") {
    return std::make_unique<SGD>(std::move(parameters), SGDOptions(config.lr)
                                                            .momentum(config.momentum)
                                                            .nesterov(config.nesterov)
                                                            .weight_decay(config.weight_decay));
  }
  if (config.optimizer == "adam") {
    return std::make_unique<Adam>(std::move(parameters),
                                  AdamOptions(config.lr).weight_decay(config.weight_decay));
  }
  if (config.optimizer == "adamw") {
    return std::make_unique<AdamW>(std::move(parameters),
                                   AdamWOptions(config.lr).weight_decay(config.weight_decay));
  }
  throw ConfigError(
      fmt::format("train.optimizer: unknown optimiser '{}' (sgd, adam, adamw)", config.optimizer));
}

void setLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace ferlab::train
