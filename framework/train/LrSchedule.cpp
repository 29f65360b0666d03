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
    case config::Schedule::OneCycle: {
      // The steps per epoch are the trainer's to know; many steps give the cycle's value at
      // the epoch's start to well within a step's change.
      constexpr std::int64_t kManySteps = 1 << 20;
      return lrForStep(epoch, 0, kManySteps);
    }
  }
  return base;
}

double LrSchedule::lrForStep(int epoch, std::int64_t step, std::int64_t steps_per_epoch) const {
  if (config_.schedule != config::Schedule::OneCycle) return lrForEpoch(epoch);
  // torch.optim.lr_scheduler.OneCycleLR(max_lr=lr, pct_start=0.3, anneal_strategy="cos",
  // div_factor=25, final_div_factor=1e4, three_phase=False).
  constexpr double kPctStart = 0.3, kDivFactor = 25.0, kFinalDivFactor = 1e4;
  const double max_lr = config_.lr;
  const double initial_lr = max_lr / kDivFactor;
  const double final_lr = initial_lr / kFinalDivFactor;
  const auto total =
      static_cast<double>(std::max<std::int64_t>(1, steps_per_epoch)) * std::max(1, config_.epochs);
  const double index = static_cast<double>(epoch - 1) * std::max<std::int64_t>(1, steps_per_epoch) +
                       static_cast<double>(step);
  const double warmup_end = kPctStart * total - 1.0;
  const auto cosine = [](double from, double to, double fraction) {
    return to + (from - to) * (1.0 + std::cos(M_PI * fraction)) / 2.0;
  };
  if (index <= warmup_end)
    return cosine(initial_lr, max_lr, warmup_end > 0 ? index / warmup_end : 1);
  const double span = total - 1.0 - warmup_end;
  return cosine(max_lr, final_lr, span > 0 ? std::min(1.0, (index - warmup_end) / span) : 1.0);
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
