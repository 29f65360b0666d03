#include "framework/train/LrSchedule.h"

#include <algorithm>
#include <cmath>

namespace ferlab::train {

bool monitorMaximises(config::Monitor monitor) {
  switch (monitor) {
    case config::Monitor::ValAccuracy:
    case config::Monitor::ValMacroF1:
      return true;
    case config::Monitor::ValLoss:
      return false;
  }
  return true;
}

LrSchedule::LrSchedule(const config::TrainConfig& config)
    : config_(config), maximise_(monitorMaximises(config.monitor)) {
  state_.plateau_lr = config.lr;
}

double LrSchedule::lrForEpoch(int epoch) const {
  const double base = config_.lr;
  switch (config_.schedule) {
    case config::Schedule::None:
      return base;
    case config::Schedule::Step:
      return base * std::pow(config_.gamma, (epoch - 1) / std::max(1, config_.step_size));
    case config::Schedule::Cosine: {
      const double progress = static_cast<double>(epoch - 1) / std::max(1, config_.epochs);
      return config_.min_lr + (base - config_.min_lr) * (1.0 + std::cos(M_PI * progress)) / 2.0;
    }
    case config::Schedule::Plateau:
      return state_.plateau_lr;
  }
  return base;
}

void LrSchedule::observe(double value) {
  if (config_.schedule != config::Schedule::Plateau) return;
  // PyTorch's default threshold_mode="rel", threshold=1e-4.
  constexpr double kThreshold = 1e-4;
  const double best = state_.plateau_best;
  const bool improved = !state_.plateau_has_best || (maximise_ ? value > best * (1.0 + kThreshold)
                                                               : value < best * (1.0 - kThreshold));
  if (improved) {
    state_.plateau_best = value;
    state_.plateau_has_best = true;
    state_.plateau_bad_epochs = 0;
    return;
  }
  if (++state_.plateau_bad_epochs > config_.plateau_patience) {
    state_.plateau_lr = std::max(config_.min_lr, state_.plateau_lr * config_.gamma);
    state_.plateau_bad_epochs = 0;
  }
}

}  // namespace ferlab::train
