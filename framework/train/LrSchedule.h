#pragma once
// Epoch-level learning-rate schedules (`train.schedule`), with the semantics of PyTorch's
// torch.optim.lr_scheduler classes of the same names:
//   none    constant lr
//   step    StepLR: lr * gamma^floor((epoch-1) / step_size)
//   cosine  CosineAnnealingLR over all epochs: min_lr + (lr - min_lr)(1 + cos(pi (epoch-1)
//           / epochs)) / 2   (Loshchilov & Hutter 2017, without restarts)
//   plateau ReduceLROnPlateau: lr *= gamma after more than plateau_patience epochs without
//           improvement of the monitored validation metric (relative threshold 1e-4), floored
//           at min_lr.
// Pure arithmetic: the trainer applies lrForEpoch() to the optimiser.

#include "framework/config/RunConfig.h"

namespace ferlab::train {

/// Whether larger values of `monitor` are better (accuracy, macro-F1) or smaller (loss).
bool monitorMaximises(config::Monitor monitor);

class LrSchedule {
 public:
  explicit LrSchedule(const config::TrainConfig& config);

  /// The learning rate for 1-based `epoch` (call before training it).
  double lrForEpoch(int epoch) const;
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
