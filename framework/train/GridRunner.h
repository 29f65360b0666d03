#pragma once
// Runs an experiment grid end to end and records it: for every resolved run, load (or
// reuse) the dataset, build the model, train with checkpoints, select the best epoch on
// PublicTest, evaluate that checkpoint once on PrivateTest, and record everything in the
// tracking store.
//
// Resumability: a run is identified by runId(experiment, config_hash). Re-running the same
// command skips finished runs, restarts failed ones from scratch and continues interrupted
// ones (status still "running") from their last checkpoint.
//
// Sharing: a process trains a run only after claiming it in the store (SqliteStore::claimRun)
// and keeps the claim alive with a heartbeat (ClaimKeeper.h), so any number of processes
// (`ferlab run --workers N`, or several commands, on one machine) can run the same grid: each
// skips what a live owner holds, and takes over, from its last checkpoint, a run whose owner
// died.

#include <string>

#include "framework/config/ConfigLoader.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::train {

struct GridRunOptions {
  std::string db_path = "results/ferlab.db";
  std::string results_dir = "results";  ///< checkpoints go to <results_dir>/runs/<id>/
  std::string device;                   ///< overrides train.device when not empty
  int threads = 0;  ///< CPU threads per run; > 0 overrides train.threads (a worker's share)
  int cell = -1;    ///< train only this grid cell (0-based, grid order); -1: every cell
  /// Wal: a store many processes share. Rollback: a single-writer shard store (`--shard`).
  tracking::Journal journal = tracking::Journal::Wal;
  /// A claim whose heartbeat is older than this is taken over (seconds); heartbeats are sent
  /// every quarter of it.
  double claim_timeout_s = 120;
  /// Keep polling while runs are held by other live processes, to take over any whose owner
  /// dies, until none is left (the workers of `--workers` do). Otherwise leave them.
  bool wait_for_held = false;
  /// Failed runs that ended before this instant (ISO 8601 UTC) are retried; empty: the start
  /// of runGrid. Workers share their parent's, so one worker's failure is not retried by the
  /// next.
  std::string retry_failed_before;
  /// Not empty: mirror every run into TensorBoard under this folder (`--tensorboard DIR`):
  /// one event file per run in <dir>/<run name>_<run id>/ (mirror/TensorBoardMirror.h). The
  /// store stays the source of truth; a failing mirror logs one warning and never stops a run.
  std::string tensorboard_dir;
  /// Not empty: mirror every run to this MLflow tracking server (`--mlflow URI`, or
  /// MLFLOW_TRACKING_URI) through its REST API (mirror/MlflowMirror.h). The store stays the
  /// source of truth; a failing server logs one warning per run and never stops a run.
  std::string mlflow_uri;
};

/// What happened to the runs of one invocation.
struct GridOutcome {
  int finished = 0;  ///< trained to the end in this invocation
  int skipped = 0;   ///< already finished before, or failed in this invocation elsewhere
  int failed = 0;    ///< raised an error (recorded as failed; the grid went on)
  int held = 0;      ///< left to other live processes that hold them
  int lost = 0;      ///< taken over by another process while this one trained them
};

/// Runs every cell of `experiment` (or options.cell), claiming each run first. A run that
/// throws is recorded as failed with its message and the grid continues; store errors abort.
/// SIGINT/SIGTERM (core/StopSignal.h) release the current run's claim and throw Interrupted.
/// Throws StoreError / DataError / ConfigError (options.cell outside the grid) / Interrupted.
GridOutcome runGrid(const config::ExperimentGrid& experiment, const GridRunOptions& options);

/// File in a run's folder holding the training split's input normalisation as JSON,
/// {"mean": m, "std": s} (pixels scaled to [0, 1]), for `ferlab predict`.
inline constexpr const char* kNormalizationFile = "normalization.json";

/// 12 hex digits: hashHex(experiment + "/" + config_hash), the run's id and folder name.
std::string runId(const std::string& experiment, const std::string& config_hash);

}  // namespace ferlab::train
