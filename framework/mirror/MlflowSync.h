#pragma once
// Pushes what an MLflow server is missing of one stored run (`ferlab sync --mlflow URI`, and
// the live mirror when a run starts or resumes). Idempotent: the MLflow run is found by its
// ferlab.run_id tag (created only when there is none), its params, tags and metric histories
// are read, and only what is missing is logged: a (metric, step) already in its history, a
// param or a tag with the same value is not logged again, so a second sync adds nothing.
//
// Epoch metrics are stamped with the run's start time plus the epochs' recorded wall times
// (the store keeps no per-epoch clock time); final metrics with the run's end time.

#include <string>

#include "framework/mirror/MlflowClient.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::mirror {

/// What one sync of one run added.
struct SyncTally {
  bool created = false;  ///< the MLflow run was created
  int params = 0, tags = 0, metrics = 0;
  bool status_changed = false;
  bool added() const { return created || params + tags + metrics > 0 || status_changed; }
};

/// Makes MLflow's copy of run `run_id` of `store` complete; returns the MLflow run id in
/// `mlflow_run_id` when not null. Throws MirrorError (the server) or StoreError (the store).
SyncTally syncRun(MlflowClient& client, const tracking::SqliteStore& store,
                  const std::string& run_id, std::string* mlflow_run_id = nullptr);

}  // namespace ferlab::mirror
