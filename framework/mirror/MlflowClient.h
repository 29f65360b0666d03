#pragma once
// A client for MLflow's tracking REST API 2.0 (https://mlflow.org/docs/latest/rest-api.html),
// over libcurl: the calls FERLab's mirror and `ferlab sync` make, nothing more.
//
// Short timeouts (connect 2 s, whole request 5 s) so a dead server costs at most seconds, never
// minutes. Every call is one HTTP request, without retries. Every failure (no connection, a
// timeout, an HTTP error, a body that is not JSON) throws MirrorError naming the URL and, for
// an HTTP error, MLflow's error code and message.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ferlab::mirror {

/// One metric value at a step; timestamp in milliseconds since the Unix epoch.
struct MlflowMetric {
  std::string key;
  double value = 0;
  std::int64_t timestamp_ms = 0;
  std::int64_t step = 0;
};

/// MLflow's run statuses (its RunStatus enum).
enum class MlflowStatus { Running, Finished, Failed, Killed };
const char* mlflowStatusName(MlflowStatus status);  ///< "RUNNING" | "FINISHED" | ...

using KeyValues = std::vector<std::pair<std::string, std::string>>;

class MlflowClient {
 public:
  /// `tracking_uri`: http(s)://host:port[/prefix], as MLflow's own MLFLOW_TRACKING_URI. Throws
  /// MirrorError for any other scheme (file:, databricks, ...).
  explicit MlflowClient(std::string tracking_uri);

  const std::string& uri() const { return uri_; }

  /// The id of experiment `name`, created when the server has none of that name.
  std::string experimentId(const std::string& name);
  /// The id of the run of `experiment_id` tagged `tag` = `value`, if any (runs/search).
  std::optional<std::string> findRunByTag(const std::string& experiment_id, const std::string& tag,
                                          const std::string& value);
  /// Creates a run (status RUNNING); returns its id.
  std::string createRun(const std::string& experiment_id, const std::string& run_name,
                        std::int64_t start_ms, const KeyValues& tags);
  /// runs/log-batch, split to MLflow's limits (100 params, 1000 metrics, 1000 items per call;
  /// param values cut to 6000 characters).
  void logBatch(const std::string& run_id, const std::vector<MlflowMetric>& metrics,
                const KeyValues& params, const KeyValues& tags);
  /// runs/update: status and, unless 0, the end time.
  void updateRun(const std::string& run_id, MlflowStatus status, std::int64_t end_ms);
  /// The run as runs/get returns it ({"info":..., "data":{"params":[...], "metrics":[...]}}).
  nlohmann::json getRun(const std::string& run_id);
  /// Every value of metric `key` (metrics/get-history, all pages).
  std::vector<MlflowMetric> metricHistory(const std::string& run_id, const std::string& key);

 private:
  nlohmann::json post(const std::string& endpoint, const nlohmann::json& body);
  nlohmann::json get(const std::string& endpoint, const KeyValues& query);
  nlohmann::json request(const std::string& url, const std::string* body);

  std::string uri_;
};

}  // namespace ferlab::mirror
