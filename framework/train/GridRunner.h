#pragma once
// Runs an experiment grid end to end and records it: for every resolved run, load (or
// reuse) the dataset, build the model, train with checkpoints, select the best epoch on
// PublicTest, evaluate that checkpoint once on PrivateTest, and record everything in the
// tracking store.
//
// Resumability: a run is identified by runId(experiment, config_hash). Re-running the same
// command skips finished runs, restarts failed ones from scratch and continues interrupted
// ones (status still "running") from their last checkpoint.

#include <string>

#include "framework/config/ConfigLoader.h"

namespace ferlab::train {

struct GridRunOptions {
  std::string db_path = "results/ferlab.db";
  std::string results_dir = "results";  ///< checkpoints go to <results_dir>/runs/<id>/
  std::string device;                   ///< overrides train.device when not empty
};

/// What happened to the runs of one invocation.
struct GridOutcome {
  int finished = 0;  ///< trained to the end in this invocation
  int skipped = 0;   ///< already finished before
  int failed = 0;    ///< raised an error (recorded as failed; the grid went on)
};

/// Runs every cell of `experiment`. A run that throws is recorded as failed with its message
/// and the grid continues; store errors abort. Throws StoreError / DataError.
GridOutcome runGrid(const config::ExperimentGrid& experiment, const GridRunOptions& options);

/// File in a run's folder holding the training split's input normalisation as JSON,
/// {"mean": m, "std": s} (pixels scaled to [0, 1]), for `ferlab predict`.
inline constexpr const char* kNormalizationFile = "normalization.json";

/// 12 hex digits: hashHex(experiment + "/" + config_hash), the run's id and folder name.
std::string runId(const std::string& experiment, const std::string& config_hash);

}  // namespace ferlab::train
