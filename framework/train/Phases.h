#pragma once
// Freeze / fine-tune schedules (`[[train.phases]]`): which parameters train in each phase,
// with which base learning rate, and which BatchNorm layers stay in eval mode.
//
// The usual transfer-learning recipe of the seeds: phase 1 trains only the new head on a
// frozen ImageNet backbone; later phases unfreeze the top blocks ("layer4", "layer3+") with a
// smaller learning rate, optionally decayed layer by layer (ULMFiT / BEiT-style layer-wise
// learning-rate decay: block k below the top gets lr x decay^k).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "framework/config/RunConfig.h"
#include "framework/models/Classifier.h"

namespace ferlab::train {

/// A phase placed on the run's epoch axis.
struct PhasePlan {
  int index = 0;  ///< from 0
  std::string name;
  int first_epoch = 1, last_epoch = 1;  ///< 1-based, inclusive
  config::PhaseConfig config;
};

/// The phases of `train`, back to back; one phase "train" of train.epochs training
/// everything when `train.phases` is empty.
std::vector<PhasePlan> planPhases(const config::TrainConfig& train);

/// The phase that contains 1-based `epoch` (the last phase for epochs past the end).
const PhasePlan& phaseForEpoch(const std::vector<PhasePlan>& phases, int epoch);

/// Trainable parameters sharing one base learning rate.
struct ParameterGroup {
  std::vector<torch::Tensor> parameters;
  double lr = 0.0;
};

/// What setUpPhase decided for one phase.
struct PhaseSetup {
  std::vector<ParameterGroup> groups;  ///< head first, then backbone blocks top-down
  double base_lr = 0.0;                ///< the phase's (head) learning rate
  config::Optimizer optimizer = config::Optimizer::Adam;  ///< the phase's optimiser
  std::int64_t trainable_params = 0, total_params = 0;
  /// BatchNorm layers whose parameters are all frozen: kept in eval mode (running
  /// statistics untouched) unless the phase sets train_frozen_bn.
  std::vector<std::shared_ptr<torch::nn::Module>> frozen_batch_norms;
};

/// Checks that every `trainable` entry of `phase` names a block or parameter of `model`,
/// without changing anything, so a misspelt block fails before the first phase trains.
/// Throws ConfigError (the message lists the model's blocks).
void checkTrainable(const models::ClassifierImpl& model, const PhasePlan& phase);

/// Sets requires_grad on every parameter of `model` as `phase` says and groups the
/// trainable ones. Throws ConfigError when a trainable entry names no block or parameter of
/// the model (the message lists the model's blocks).
PhaseSetup setUpPhase(models::ClassifierImpl& model, const PhasePlan& phase,
                      const config::TrainConfig& train);

}  // namespace ferlab::train
