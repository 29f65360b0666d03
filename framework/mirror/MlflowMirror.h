#pragma once
// Mirrors one training run into an MLflow tracking server, live (`ferlab run --mlflow URI`, or
// MLFLOW_TRACKING_URI): when the run starts (or resumes), what the store already holds of it
// is synced (MlflowSync.h: the experiment and the run found by their names and the
// ferlab.run_id tag, created when missing; params, tags, recorded epochs); then each epoch's
// metrics after the store recorded it, and at the end the final metrics and the status
// (MlflowRecord.h has the mapping).
//
// The SQLite store stays the source of truth (DESIGN.md, "Mirrors"): the first failure (no
// server, a timeout, an HTTP error) logs one warning and the mirror stops for that run; no
// member throws, nothing is retried, and each call waits at most MlflowClient's timeouts
// (connect 2 s, request 5 s). `ferlab sync --mlflow URI` later pushes what is missing.

#include <memory>
#include <string>
#include <vector>

#include "framework/mirror/MlflowClient.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::mirror {

class MlflowMirror {
 public:
  /// An empty `tracking_uri` makes a disabled mirror. Otherwise syncs run `run_id` as `store`
  /// holds it now (call it after the store marked the run running).
  MlflowMirror(const std::string& tracking_uri, const tracking::SqliteStore& store,
               const std::string& run_id);

  /// Logs the epoch's metrics at step epoch.epoch, stamped now.
  void epoch(const tracking::EpochRecord& epoch);
  /// Logs the final metrics per split at step `last_epoch` and sets status FINISHED.
  void finish(const std::vector<tracking::SplitMetrics>& splits, int last_epoch);
  /// Sets the status (FAILED, or KILLED for an interrupted run) and the end time.
  void end(MlflowStatus status);

  /// False once a call failed (or when the URI was empty).
  bool enabled() const { return enabled_; }

 private:
  template <typename Call>
  void guarded(Call&& call);

  std::string run_id_, mlflow_run_id_;
  bool enabled_ = false;
  std::unique_ptr<MlflowClient> client_;
};

}  // namespace ferlab::mirror
