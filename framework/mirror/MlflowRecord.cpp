#include "framework/mirror/MlflowRecord.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "framework/core/Errors.h"

namespace ferlab::mirror {
namespace {

void flatten(const nlohmann::json& value, const std::string& prefix, KeyValues& out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, child] : value.items())
      flatten(child, prefix.empty() ? key : prefix + "." + key, out);
  } else if (value.is_string()) {
    out.emplace_back(prefix, value.get<std::string>());
  } else {
    out.emplace_back(prefix, value.dump());
  }
}

}  // namespace

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t isoToMs(const std::string& iso) {
  std::tm tm{};
  int millis = 0;
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis) < 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + millis;
}

KeyValues mlflowParams(const tracking::RunRecord& run) {
  const auto config = nlohmann::json::parse(run.config_json, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    throw MirrorError(fmt::format("run {}: its stored config is not a JSON object", run.id));
  }
  KeyValues params;
  flatten(config, "", params);
  std::sort(params.begin(), params.end());
  return params;
}

KeyValues mlflowTags(const tracking::RunRecord& run) {
  return {{kRunIdTag, run.id},
          {"ferlab.config_hash", run.config_hash},
          {"ferlab.git_commit", run.git_commit},
          {"ferlab.device", run.device}};
}

std::vector<MlflowMetric> epochMetrics(const tracking::EpochRecord& epoch,
                                       std::int64_t timestamp_ms) {
  const std::int64_t step = epoch.epoch;
  return {{"train_loss", epoch.train_loss, timestamp_ms, step},
          {"train_accuracy", epoch.train_accuracy, timestamp_ms, step},
          {"val_loss", epoch.val_loss, timestamp_ms, step},
          {"val_accuracy", epoch.val_accuracy, timestamp_ms, step},
          {"val_macro_f1", epoch.val_macro_f1, timestamp_ms, step},
          {"lr", epoch.lr, timestamp_ms, step},
          {"images_per_s", epoch.images_per_sec, timestamp_ms, step}};
}

std::vector<MlflowMetric> finalMetrics(const std::vector<tracking::SplitMetrics>& splits, int step,
                                       std::int64_t timestamp_ms) {
  std::vector<MlflowMetric> metrics;
  for (const auto& split : splits) {
    metrics.push_back({split.split + "_loss", split.loss, timestamp_ms, step});
    metrics.push_back({split.split + "_accuracy", split.accuracy, timestamp_ms, step});
    metrics.push_back({split.split + "_macro_f1", split.macro_f1, timestamp_ms, step});
  }
  return metrics;
}

MlflowStatus mlflowStatus(tracking::RunStatus status) {
  switch (status) {
    case tracking::RunStatus::Finished:
      return MlflowStatus::Finished;
    case tracking::RunStatus::Failed:
      return MlflowStatus::Failed;
    case tracking::RunStatus::Interrupted:
      return MlflowStatus::Killed;
    case tracking::RunStatus::Queued:
    case tracking::RunStatus::Running:
      return MlflowStatus::Running;
  }
  return MlflowStatus::Running;
}

}  // namespace ferlab::mirror
