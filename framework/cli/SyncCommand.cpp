// `ferlab sync --mlflow URI [RUN...] [--db DB] [-e EXPERIMENT]`: pushes what an MLflow
// tracking server is missing of the store's training runs (mirror/MlflowSync.h): after a run
// whose live mirror stopped (a server that was down or unreachable), or for runs trained
// without --mlflow. Idempotent: a second sync adds nothing.
//
// Without RUN, every training run of the store (or of -e EXPERIMENT) that has started. Exit
// code 0 when every run was synced, 1 when any failed (each failure named on its own line).

#include <cstdlib>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/mirror/MlflowClient.h"
#include "framework/mirror/MlflowSync.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::cli {

int syncCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::vector<std::string> runs;
  std::string uri, db_path, experiment;
  // clang-format off
  options.add_options()
      ("runs", po::value(&runs)->multitoken(), "run ids (or unique prefixes); default: every started training run")
      ("mlflow", po::value(&uri), "MLflow tracking server URI (default: $MLFLOW_TRACKING_URI)")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)")
      ("experiment,e", po::value(&experiment), "only the runs of this experiment");
  // clang-format on
  po::positional_options_description positional;
  positional.add("runs", -1);
  po::variables_map values;
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab sync --mlflow URI [RUN...] [--db DB] [-e EXPERIMENT]",
                        values)) {
    return 0;
  }
  if (uri.empty() && std::getenv("MLFLOW_TRACKING_URI") != nullptr)
    uri = std::getenv("MLFLOW_TRACKING_URI");
  if (uri.empty()) throw UsageError("ferlab sync: give --mlflow URI (or set MLFLOW_TRACKING_URI)");
  const tracking::SqliteStore store(db_path, tracking::OpenMode::ReadOnly);
  std::vector<std::string> ids;
  if (runs.empty()) {
    for (const auto& row : store.listRuns(experiment)) {
      if (row.record.kind == tracking::RunKind::Train &&
          row.record.status != tracking::RunStatus::Queued)
        ids.push_back(row.record.id);
    }
  } else {
    for (const auto& run : runs) ids.push_back(store.getRun(run).record.id);
  }
  mirror::MlflowClient client(uri);
  int failed = 0, changed = 0;
  for (const auto& id : ids) {
    try {
      std::string mlflow_id;
      const auto tally = mirror::syncRun(client, store, id, &mlflow_id);
      if (tally.added()) ++changed;
      fmt::print("{} -> MLflow run {}: {}{} params, {} tags, {} metric values{}\n", id, mlflow_id,
                 tally.created ? "created, " : "", tally.params, tally.tags, tally.metrics,
                 tally.status_changed ? ", status updated" : "");
    } catch (const MirrorError& error) {
      ++failed;
      log::error("run {}: {}", id, error.what());
    }
  }
  fmt::print("synced {} run(s) to {}: {} changed, {} already complete, {} failed\n", ids.size(),
             client.uri(), changed, static_cast<int>(ids.size()) - changed - failed, failed);
  return failed > 0 ? 1 : 0;
}

}  // namespace ferlab::cli
