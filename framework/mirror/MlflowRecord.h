#pragma once
// What a FERLab run looks like in MLflow: one mapping from the store's records to MLflow's
// params, tags, metrics and statuses, shared by the live mirror (MlflowMirror.h) and
// `ferlab sync` (MlflowSync.h) so both write the same thing.
//
//   params   the resolved config flattened to dotted key paths (train.lr, model.name, ...);
//            arrays and null as their JSON text
//   tags     ferlab.run_id, ferlab.config_hash, ferlab.git_commit, ferlab.device
//   metrics  per epoch at step = the 1-based epoch: train_loss, train_accuracy, val_loss,
//            val_accuracy, val_macro_f1, lr, images_per_s (accuracies as fractions in [0, 1]);
//            at the end, at step = the last epoch: <split>_loss, <split>_accuracy,
//            <split>_macro_f1 for PublicTest and PrivateTest (the selected checkpoint)
//   status   running -> RUNNING, finished -> FINISHED, failed -> FAILED,
//            interrupted -> KILLED (queued runs are not mirrored)
//
// FERLab-only: per-sample predictions, per-class metrics, confusion matrices, phases and the
// report's statistics stay in the store.

#include <cstdint>
#include <string>
#include <vector>

#include "framework/mirror/MlflowClient.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::mirror {

/// The tag that identifies a FERLab run in MLflow (one MLflow run per FERLab run id).
inline constexpr const char* kRunIdTag = "ferlab.run_id";

/// Milliseconds since the Unix epoch, now.
std::int64_t nowMs();
/// An ISO 8601 UTC time as the store writes it ("2026-11-30T05:37:10.123Z") in ms; 0 when
/// empty or unreadable.
std::int64_t isoToMs(const std::string& iso);

/// The resolved config (RunRecord::config_json) flattened to dotted key paths, sorted.
/// Throws MirrorError naming the run when config_json is not a JSON object.
KeyValues mlflowParams(const tracking::RunRecord& run);
/// The ferlab.* tags of a run.
KeyValues mlflowTags(const tracking::RunRecord& run);
/// One epoch's seven metrics at step epoch.epoch, stamped `timestamp_ms`.
std::vector<MlflowMetric> epochMetrics(const tracking::EpochRecord& epoch,
                                       std::int64_t timestamp_ms);
/// The final metrics of each split (<split>_loss, _accuracy, _macro_f1) at `step`.
std::vector<MlflowMetric> finalMetrics(const std::vector<tracking::SplitMetrics>& splits, int step,
                                       std::int64_t timestamp_ms);
/// The MLflow status of a stored run status (queued maps to RUNNING).
MlflowStatus mlflowStatus(tracking::RunStatus status);

}  // namespace ferlab::mirror
