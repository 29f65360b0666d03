#include "framework/train/Optimizers.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::train {
namespace {

// One LibTorch parameter group per FERLab group, each with a copy of `defaults` at its lr.
template <typename Options>
std::vector<torch::optim::OptimizerParamGroup> paramGroups(
    const std::vector<ParameterGroup>& groups, const Options& defaults) {
  std::vector<torch::optim::OptimizerParamGroup> result;
  for (const auto& group : groups) {
    auto options = std::make_unique<Options>(defaults);
    options->lr(group.lr);
    result.emplace_back(group.parameters, std::move(options));
  }
  return result;
}

template <typename Optimizer, typename Options>
std::unique_ptr<torch::optim::Optimizer> build(const std::vector<ParameterGroup>& groups,
                                               const Options& defaults) {
  return std::make_unique<Optimizer>(paramGroups(groups, defaults), defaults);
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(config::Optimizer optimizer,
                                                       const config::TrainConfig& config,
                                                       const std::vector<ParameterGroup>& groups) {
  using namespace torch::optim;
  switch (optimizer) {
    case config::Optimizer::Sgd:
      return build<SGD>(groups, SGDOptions(config.lr)
                                    .momentum(config.momentum)
                                    .nesterov(config.nesterov)
                                    .weight_decay(config.weight_decay));
    case config::Optimizer::Adam:
      return build<Adam>(groups, AdamOptions(config.lr).weight_decay(config.weight_decay));
    case config::Optimizer::AdamW:
      return build<AdamW>(groups, AdamWOptions(config.lr).weight_decay(config.weight_decay));
  }
  throw std::logic_error("makeOptimizer: unhandled optimizer");
}

void setLearningRates(torch::optim::Optimizer& optimizer, const std::vector<double>& lrs) {
  auto& groups = optimizer.param_groups();
  for (std::size_t i = 0; i < groups.size() && i < lrs.size(); ++i)
    groups[i].options().set_lr(lrs[i]);
}

}  // namespace ferlab::train
