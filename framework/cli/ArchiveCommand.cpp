// `ferlab archive`: writes each selected finished run as a run archive (tracking/RunArchive.h)
// to DIR/<experiment>/<run id>.json.gz, the compact, lossless records committed under
// results/reproductions/ so results survive a fresh machine (`ferlab import` reads them back).

#include <filesystem>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/cli/SelectionOptions.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/tracking/RunArchive.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::cli {

namespace fs = std::filesystem;

int archiveCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  po::positional_options_description positional;
  SelectionArgs selection_args;
  std::string db_path, out_dir;
  addSelectionOptions(options, positional, selection_args);
  // clang-format off
  options.add_options()
      ("out,o", po::value(&out_dir)->required(), "folder; each run goes to <experiment>/<run id>.json.gz under it")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)");
  // clang-format on
  po::variables_map values;
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab archive [RUN...] [--experiment E]... [--where KEY=VALUE]... "
                        "-o DIR [--db PATH]",
                        values)) {
    return 0;
  }
  const tracking::SqliteStore store(db_path, tracking::OpenMode::ReadOnly);
  const auto runs = selectRunsFromArgs(store, selection_args);
  int written = 0, skipped = 0;
  for (const auto& run : runs) {
    if (run.record.status != tracking::RunStatus::Finished) {
      // A selection by experiment may hold runs still training: they are archived when done.
      log::warn("run {} ({}) is {}: not archived", run.record.id, run.record.name,
                tracking::statusName(run.record.status));
      ++skipped;
      continue;
    }
    const fs::path folder = fs::path(out_dir) / run.record.experiment;
    std::error_code error;
    fs::create_directories(folder, error);
    if (error) {
      throw DataError(
          fmt::format("{}: cannot create the folder: {}", folder.string(), error.message()));
    }
    const auto path = (folder / (run.record.id + ".json.gz")).string();
    tracking::writeRunArchive(path, tracking::archiveRun(store, run.record.id));
    fmt::print("{}  {}\n", path, run.record.name);
    ++written;
  }
  log::info("archived {} run(s) to {}{}", written, out_dir,
            skipped ? fmt::format("; {} unfinished run(s) left out", skipped) : "");
  if (runs.empty()) log::warn("no run in {} matches the selection", db_path);
  return 0;
}

}  // namespace ferlab::cli
