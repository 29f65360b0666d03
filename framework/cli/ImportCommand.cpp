// `ferlab import`: reads run archives (`ferlab archive`, tracking/RunArchive.h) into a store,
// so reports, the ledger and ensembles work from committed records on a fresh machine.
// Arguments are archive files or folders searched recursively for *.json.gz. Every archive is
// read and checked before the first is written: a bad file stops the import with one error
// naming it, and leaves the store as it was.

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/tracking/RunArchive.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::cli {
namespace {

namespace fs = std::filesystem;

bool isArchive(const fs::path& path) {
  const std::string name = path.filename().string();
  return name.size() > 8 && name.compare(name.size() - 8, 8, ".json.gz") == 0;
}

/// The archive files named by `inputs`, folders expanded (sorted, so imports are ordered).
std::vector<std::string> archiveFiles(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    std::error_code error;
    if (fs::is_directory(input, error)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::recursive_directory_iterator(input)) {
        if (entry.is_regular_file() && isArchive(entry.path()))
          found.push_back(entry.path().string());
      }
      if (found.empty()) log::warn("{}: no run archive (*.json.gz) in this folder", input);
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(input, error)) {
      files.push_back(input);
    } else {
      throw DataError(fmt::format("{}: no such file or folder", input));
    }
  }
  return files;
}

const char* outcomeText(tracking::ImportOutcome outcome) {
  switch (outcome) {
    case tracking::ImportOutcome::Imported:
      return "imported";
    case tracking::ImportOutcome::Replaced:
      return "imported (replaced an unfinished run)";
    case tracking::ImportOutcome::AlreadyPresent:
      return "already in the store, left as it is";
  }
  return "";
}

}  // namespace

int importCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  po::positional_options_description positional;
  std::vector<std::string> inputs;
  std::string db_path;
  // clang-format off
  options.add_options()
      ("archive", po::value(&inputs)->required(), "run archive files or folders of them (*.json.gz)")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite), created when missing");
  // clang-format on
  positional.add("archive", -1);
  po::variables_map values;
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab import ARCHIVE|DIR... [--db PATH]", values)) {
    return 0;
  }
  std::vector<tracking::RunArchive> archives;
  std::vector<std::string> files = archiveFiles(inputs);
  for (const auto& file : files) archives.push_back(tracking::readRunArchive(file));

  tracking::SqliteStore store(db_path);
  int imported = 0;
  for (std::size_t i = 0; i < archives.size(); ++i) {
    const auto outcome = store.importRun(archives[i]);
    if (outcome != tracking::ImportOutcome::AlreadyPresent) ++imported;
    fmt::print("{}  {}  {}\n", archives[i].record.id, archives[i].record.name,
               outcomeText(outcome));
  }
  log::info("{} of {} run archive(s) imported into {}", imported, archives.size(), db_path);
  return 0;
}

}  // namespace ferlab::cli
