// `ferlab merge SHARDS... --into DB [--config CONFIG [--set k=v]...]`: combines shard stores
// (one per Slurm array task, `ferlab run --cell I --shard`) into one store, the way W&B's
// offline runs are synced or Optuna's journal is replayed: each task wrote only its own file,
// so no two processes ever shared a SQLite file over the network filesystem.
//
// Idempotent: merging the same shards again changes nothing, and a requeued task's shard, which
// holds its later state, replaces what an earlier merge recorded (SqliteStore::mergeRun). It
// reports what it merged, and, with the grid's config, which cells are missing, failed or not
// finished. Exit code 0 only when every shard was read and every run it knows of finished.

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"
#include "framework/core/FilesystemType.h"
#include "framework/core/Log.h"
#include "framework/tracking/RunArchive.h"
#include "framework/tracking/SqliteStore.h"
#include "framework/train/GridRunner.h"

namespace ferlab::cli {
namespace {

namespace fs = std::filesystem;

/// Shard files named by `inputs`: files as given, folders expanded to their *.db (sorted).
std::vector<std::string> shardFiles(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    std::error_code error;
    if (fs::is_directory(input, error)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(input)) {
        if (entry.is_regular_file() && entry.path().extension() == ".db")
          found.push_back(entry.path().string());
      }
      if (found.empty()) log::warn("{}: no shard store (*.db) in this folder", input);
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(input, error)) {
      files.push_back(input);
    } else {
      throw UsageError(fmt::format("{}: no such shard file or folder", input));
    }
  }
  return files;
}

struct MergeTally {
  int added = 0, replaced = 0, unchanged = 0, not_started = 0, unreadable = 0;
};

// Merges every run of one shard; a shard that cannot be read is reported and skipped, so one
// bad file does not hold back the others.
void mergeShard(const std::string& shard, tracking::SqliteStore& into, MergeTally& tally) {
  try {
    const tracking::SqliteStore store(shard, tracking::OpenMode::ReadOnly);
    for (const auto& row : store.listRuns()) {
      if (row.record.status == tracking::RunStatus::Queued) {
        ++tally.not_started;
        continue;
      }
      switch (into.mergeRun(tracking::snapshotRun(store, row.record.id))) {
        case tracking::MergeOutcome::Added:
          ++tally.added;
          break;
        case tracking::MergeOutcome::Replaced:
          ++tally.replaced;
          break;
        case tracking::MergeOutcome::Unchanged:
          ++tally.unchanged;
          break;
      }
    }
  } catch (const StoreError& error) {
    if (into.path() == shard) throw;
    ++tally.unreadable;
    log::error("{}", error.what());
  }
}

/// Lists the grid's cells that are not finished in `into`; returns how many.
int reportCells(const config::ExperimentGrid& experiment, const tracking::SqliteStore& into) {
  int incomplete = 0;
  for (std::size_t cell = 0; cell < experiment.runs.size(); ++cell) {
    const auto& run = experiment.runs[cell];
    const auto found = into.findRun(train::runId(experiment.name, run.config_hash));
    if (found && found->status == tracking::RunStatus::Finished) continue;
    ++incomplete;
    if (!found) {
      fmt::print("missing   cell {} {}: no shard recorded it\n", cell, run.name);
    } else if (found->status == tracking::RunStatus::Failed) {
      fmt::print("failed    cell {} {} ({}): {}\n", cell, run.name, found->id, found->error);
    } else {
      fmt::print("{:<9} cell {} {} ({}): not finished when its shard was last written\n",
                 tracking::statusName(found->status), cell, run.name, found->id);
    }
  }
  return incomplete;
}

}  // namespace

int mergeCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::vector<std::string> shards, overrides;
  std::string into_path, config_path;
  // clang-format off
  options.add_options()
      ("shards", po::value(&shards)->required()->multitoken(), "shard stores, or folders of *.db")
      ("into", po::value(&into_path)->required(), "the store to merge into (created when missing)")
      ("config", po::value(&config_path), "the grid's experiment TOML: report its missing, failed and unfinished cells")
      ("set", po::value(&overrides)->composing(), "config override, as given to `ferlab run` (repeatable)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("shards", -1);
  po::variables_map values;
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab merge SHARD... --into DB [--config CONFIG [--set k=v]...]",
                        values)) {
    return 0;
  }
  const auto files = shardFiles(shards);
  // One process writes the merged store: on a network filesystem, where WAL is refused, the
  // rollback journal serves a single writer.
  const bool network = core::filesystemTypeOf(into_path).network;
  tracking::SqliteStore into(into_path, tracking::OpenMode::ReadWrite,
                             network ? tracking::Journal::Rollback : tracking::Journal::Wal);
  MergeTally tally;
  for (const auto& shard : files) {
    if (fs::exists(into_path) && fs::equivalent(shard, into_path)) {
      throw UsageError(fmt::format("{}: a shard cannot be merged into itself", shard));
    }
    mergeShard(shard, into, tally);
  }
  fmt::print("merged {} shard(s) into {}: {} run(s) added, {} replaced, {} unchanged{}{}\n",
             files.size(), into_path, tally.added, tally.replaced, tally.unchanged,
             tally.not_started > 0 ? fmt::format(", {} not started", tally.not_started) : "",
             tally.unreadable > 0 ? fmt::format(", {} shard(s) unreadable", tally.unreadable) : "");
  int incomplete = 0;
  if (!config_path.empty()) {
    const auto experiment = config::loadExperiment(config_path, overrides);
    incomplete = reportCells(experiment, into);
    fmt::print("{}: {} of {} cell(s) finished\n", experiment.name,
               static_cast<int>(experiment.runs.size()) - incomplete, experiment.runs.size());
  } else {
    for (const auto& row : into.listRuns()) {
      if (row.record.kind != tracking::RunKind::Train ||
          row.record.status == tracking::RunStatus::Finished)
        continue;
      ++incomplete;
      fmt::print("{:<9} {} ({}){}\n", tracking::statusName(row.record.status), row.record.name,
                 row.record.id, row.record.error.empty() ? "" : ": " + row.record.error);
    }
  }
  return tally.unreadable > 0 || incomplete > 0 ? 1 : 0;
}

}  // namespace ferlab::cli
