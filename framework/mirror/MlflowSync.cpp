#include "framework/mirror/MlflowSync.h"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "framework/mirror/MlflowRecord.h"

namespace ferlab::mirror {
namespace {

std::map<std::string, std::string> keyValues(const nlohmann::json& list) {
  std::map<std::string, std::string> out;
  for (const auto& item : list) out[item.value("key", "")] = item.value("value", "");
  return out;
}

}  // namespace

SyncTally syncRun(MlflowClient& client, const tracking::SqliteStore& store,
                  const std::string& run_id, std::string* mlflow_run_id) {
  const auto row = store.getRun(run_id);
  const auto& record = row.record;
  SyncTally tally;
  const std::int64_t started_ms =
      isoToMs(record.started_at) > 0 ? isoToMs(record.started_at) : nowMs();
  const std::string experiment_id = client.experimentId(record.experiment);
  const auto tags = mlflowTags(record);
  std::string id;
  if (const auto found = client.findRunByTag(experiment_id, kRunIdTag, record.id)) {
    id = *found;
  } else {
    id = client.createRun(experiment_id, record.name, started_ms, tags);
    tally.created = true;
  }
  if (mlflow_run_id != nullptr) *mlflow_run_id = id;

  const auto mlflow_run = client.getRun(id);
  const auto& data = mlflow_run.value("data", nlohmann::json::object());
  const auto logged_params = keyValues(data.value("params", nlohmann::json::array()));
  const auto logged_tags = keyValues(data.value("tags", nlohmann::json::array()));
  std::set<std::string> logged_metric_keys;
  for (const auto& metric : data.value("metrics", nlohmann::json::array()))
    logged_metric_keys.insert(metric.value("key", ""));

  KeyValues params, new_tags;
  for (const auto& param : mlflowParams(record)) {
    if (logged_params.count(param.first) == 0) params.push_back(param);
  }
  for (const auto& tag : tags) {
    const auto it = logged_tags.find(tag.first);
    if (!tag.second.empty() && (it == logged_tags.end() || it->second != tag.second))
      new_tags.push_back(tag);
  }

  std::vector<MlflowMetric> wanted;
  double elapsed_s = 0;
  for (const auto& epoch : store.epochs(record.id)) {
    elapsed_s += epoch.seconds;
    const auto metrics =
        epochMetrics(epoch, started_ms + static_cast<std::int64_t>(elapsed_s * 1000));
    wanted.insert(wanted.end(), metrics.begin(), metrics.end());
  }
  if (record.status == tracking::RunStatus::Finished) {
    const std::int64_t ended_ms = isoToMs(record.ended_at) > 0 ? isoToMs(record.ended_at) : nowMs();
    const auto metrics =
        finalMetrics(store.splitMetrics(record.id), row.summary.last_epoch, ended_ms);
    wanted.insert(wanted.end(), metrics.begin(), metrics.end());
  }
  std::map<std::string, std::set<std::int64_t>> logged_steps;
  for (const auto& key : logged_metric_keys) {
    for (const auto& metric : client.metricHistory(id, key)) logged_steps[key].insert(metric.step);
  }
  std::vector<MlflowMetric> missing;
  for (const auto& metric : wanted) {
    if (logged_steps[metric.key].count(metric.step) == 0) missing.push_back(metric);
  }
  if (!missing.empty() || !params.empty() || !new_tags.empty())
    client.logBatch(id, missing, params, new_tags);
  tally.params = static_cast<int>(params.size());
  tally.tags = static_cast<int>(new_tags.size());
  tally.metrics = static_cast<int>(missing.size());

  const auto status = mlflowStatus(record.status);
  const std::string logged_status =
      mlflow_run.value("info", nlohmann::json::object()).value("status", std::string("RUNNING"));
  if (logged_status != mlflowStatusName(status)) {
    const bool ended = status != MlflowStatus::Running;
    client.updateRun(
        id, status,
        ended && isoToMs(record.ended_at) > 0 ? isoToMs(record.ended_at) : (ended ? nowMs() : 0));
    tally.status_changed = true;
  }
  return tally;
}

}  // namespace ferlab::mirror
