#include "framework/mirror/MlflowMirror.h"

#include <exception>

#include "framework/core/Log.h"
#include "framework/mirror/MlflowRecord.h"
#include "framework/mirror/MlflowSync.h"

namespace ferlab::mirror {

MlflowMirror::MlflowMirror(const std::string& tracking_uri, const tracking::SqliteStore& store,
                           const std::string& run_id)
    : run_id_(run_id), enabled_(!tracking_uri.empty()) {
  guarded([&] {
    client_ = std::make_unique<MlflowClient>(tracking_uri);
    syncRun(*client_, store, run_id, &mlflow_run_id_);
    log::info("run {}: mirrored to MLflow at {} (MLflow run {})", run_id, client_->uri(),
              mlflow_run_id_);
  });
}

template <typename Call>
void MlflowMirror::guarded(Call&& call) {
  if (!enabled_) return;
  try {
    call();
  } catch (const std::exception& error) {
    enabled_ = false;
    log::warn(
        "run {}: MLflow mirror stopped for this run ({}); training goes on, the store has "
        "everything: `ferlab sync --mlflow URI {}` pushes what is missing",
        run_id_, error.what(), run_id_);
  }
}

void MlflowMirror::epoch(const tracking::EpochRecord& epoch) {
  guarded([&] { client_->logBatch(mlflow_run_id_, epochMetrics(epoch, nowMs()), {}, {}); });
}

void MlflowMirror::finish(const std::vector<tracking::SplitMetrics>& splits, int last_epoch) {
  guarded([&] {
    const auto now = nowMs();
    client_->logBatch(mlflow_run_id_, finalMetrics(splits, last_epoch, now), {}, {});
    client_->updateRun(mlflow_run_id_, MlflowStatus::Finished, now);
  });
}

void MlflowMirror::end(MlflowStatus status) {
  guarded([&] { client_->updateRun(mlflow_run_id_, status, nowMs()); });
}

}  // namespace ferlab::mirror
