// `ferlab ledger`: the reproduction ledger (report/Ledger.h) of a store, as the Markdown table
// README's Results section carries (scripts/update_ledger.sh) or as text.

#include <algorithm>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/core/Errors.h"
#include "framework/report/Ledger.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::cli {
namespace {

namespace fs = std::filesystem;

std::string percentOrDash(double fraction, bool known) {
  return known ? fmt::format("{:.2f}%", 100 * fraction) : "-";
}

void printEnsemble(const report::LedgerEntry& entry) {
  fmt::print("{} (ensemble {}, experiment {}): {}\n", entry.run_name, entry.run_id,
             entry.experiment, entry.source);
  fmt::print("  obtained  {} PrivateTest{}; PublicTest {} (chose its members and weights)\n",
             percentOrDash(entry.test_accuracy.mean, true),
             entry.has_interval
                 ? fmt::format(", 95% CI [{:.2f}%, {:.2f}%]", 100 * entry.mean_interval.low,
                               100 * entry.mean_interval.high)
                 : "",
             percentOrDash(entry.val_accuracy, entry.val_accuracy >= 0));
  fmt::print("  verdict   {}{}{}\n", report::verdictName(entry.verdict),
             entry.random_init ? " (random initialisation among its members)" : "",
             entry.thinned ? " (NOT COMPARABLE: thinned PrivateTest)" : "");
  for (const auto& note : entry.differences) fmt::print("  note      {}\n", note);
}

void printText(const std::vector<report::LedgerEntry>& entries) {
  for (const auto& entry : entries) {
    if (entry.ensemble) {
      printEnsemble(entry);
      continue;
    }
    fmt::print("{}: {}\n", entry.experiment, entry.source);
    fmt::print("  claimed   {}{}\n", percentOrDash(entry.claimed, entry.claimed > 0),
               entry.protocol.empty() ? "" : " (" + entry.protocol + ")");
    fmt::print("  obtained  {} ± {} PrivateTest over {} of {} runs{}\n",
               percentOrDash(entry.test_accuracy.mean, entry.finished > 0),
               percentOrDash(entry.test_accuracy.std, entry.finished > 0), entry.finished,
               entry.runs,
               entry.has_interval
                   ? fmt::format(", 95% CI of the mean [{:.2f}%, {:.2f}%]",
                                 100 * entry.mean_interval.low, 100 * entry.mean_interval.high)
                   : "");
    fmt::print("  verdict   {}{}{}{}\n", report::verdictName(entry.verdict),
               entry.partial ? fmt::format(" (partial: {} of their {} epochs)", entry.epochs,
                                           entry.reference_epochs)
                             : "",
               entry.random_init ? " (random initialisation)" : "",
               entry.thinned ? " (NOT COMPARABLE: thinned PrivateTest)" : "");
    for (const auto& difference : entry.differences) fmt::print("  differs   {}\n", difference);
  }
}

}  // namespace

int ledgerCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::string db_path, format, declared_dir;
  int resamples = 2000;
  // clang-format off
  options.add_options()
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)")
      ("format", po::value(&format)->default_value("text"), "text or markdown (README's table)")
      ("experiments", po::value(&declared_dir), "also list the references declared by the experiment files in this folder (experiments/reproduce) that have no run yet")
      ("resamples", po::value(&resamples)->default_value(2000), "bootstrap resamples, >= 1000");
  // clang-format on
  po::variables_map values;
  if (!parseCommandLine(
          args, options, {},
          "usage: ferlab ledger [--format text|markdown] [--experiments DIR] [--db PATH]",
          values)) {
    return 0;
  }
  if (format != "text" && format != "markdown")
    throw UsageError(fmt::format("--format {}: expected text or markdown", format));
  if (resamples < 1000)
    throw UsageError(fmt::format("--resamples {}: expected >= 1000", resamples));
  const tracking::SqliteStore store(db_path, tracking::OpenMode::ReadOnly);
  std::vector<config::ExperimentGrid> declared;
  if (!declared_dir.empty()) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(declared_dir)) {
      if (entry.path().extension() == ".toml") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) declared.push_back(config::loadExperiment(file.string()));
  }
  const auto entries = report::withDeclared(report::buildLedger(store, resamples), declared);
  if (format == "markdown") {
    std::cout << report::ledgerMarkdown(entries);
  } else if (entries.empty()) {
    fmt::print("no experiment in {} declares a [reference] (see experiments/reproduce/)\n",
               db_path);
  } else {
    printText(entries);
  }
  return 0;
}

}  // namespace ferlab::cli
