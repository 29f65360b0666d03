#pragma once
// Learning-rate schedules (`train.schedule`), with the semantics of PyTorch's
// torch.optim.lr_scheduler classes of the same names:
//   none    constant lr
//   step    StepLR: lr * gamma^floor((epoch-1) / step_size)
//   cosine  CosineAnnealingLR over all epochs: min_lr + (lr - min_lr)(1 + cos(pi (epoch-1)
//           / epochs)) / 2   (Loshchilov & Hutter 2017, without restarts)
//   plateau ReduceLROnPlateau: lr *= gamma after more than plateau_patience epochs without
//           improvement of the monitored validation metric (relative threshold 1e-4), floored
//           at min_lr.
//   onecycle OneCycleLR with its defaults, set every step: from lr / 25 up to lr over the
//           first 30% of all steps, then cosine down to lr / 25 / 1e4 at the last step
//           (Smith & Topin 2019, "Super-convergence"). PyTorch also cycles the momentum
//           (Adam's beta1) between 0.85 and 0.95; FERLab keeps it fixed.
// Pure arithmetic: the trainer applies lrForStep() to the optimiser before every step.

#include <cstdint>

#include "framework/config/RunConfig.h"

namespace ferlab::train {

/// Whether larger values of `monitor` are better (accuracy, macro-F1) or smaller (loss).
bool monitorMaximises(config::Monitor monitor);

class LrSchedule {
 public:
  explicit LrSchedule(const config::TrainConfig& config);

  /// The learning rate for 1-based `epoch` (call before training it). For onecycle, the
  /// cycle's value where the epoch starts (exact for epoch 1); the trainer sets the rate of
  /// every step with lrForStep and records the epoch's first.
  double lrForEpoch(int epoch) const;
  /// The learning rate for 0-based `step` of 1-based `epoch`, of `steps_per_epoch`. Equals
  /// lrForEpoch(epoch) for every schedule but onecycle.
  double lrForStep(int epoch, std::int64_t step, std::int64_t steps_per_epoch) const;
  /// Whether the rate changes within an epoch (onecycle), so the trainer sets it every step.
  bool perStep() const { return config_.schedule == config::Schedule::OneCycle; }
  /// Feeds the epoch's monitored validation value (plateau only; others ignore it).
  void observe(double monitored_value);

  /// Plateau state, saved in checkpoints so a resumed run continues identically.
  struct State {
    double plateau_lr = 0.0;
    double plateau_best = 0.0;
    int plateau_bad_epochs = 0;
    bool plateau_has_best = false;
  };
  const State& state() const { return state_; }
  void restore(const State& state) { state_ = state; }

 private:
  config::TrainConfig config_;
  bool maximise_;
  State state_;
};

}  // namespace ferlab::train
