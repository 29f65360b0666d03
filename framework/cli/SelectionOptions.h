#pragma once
// The run-selection arguments shared by `ferlab export` and `ferlab plot`: positional run ids
// (or unique prefixes), --experiment (repeatable) and --where key=value (repeatable).

#include <string>
#include <vector>

#include "framework/cli/CommandLine.h"
#include "framework/report/RunSelection.h"

namespace ferlab::cli {

struct SelectionArgs {
  std::vector<std::string> runs, experiments, where;
};

/// Adds --run (the positional RUN... arguments), --experiment/-e and --where to `options` and
/// the positional mapping to `positional`; values land in `args`.
void addSelectionOptions(po::options_description& options,
                         po::positional_options_description& positional, SelectionArgs& args);

/// The parsed selection. Throws UsageError for a malformed --where.
report::RunSelection toSelection(const SelectionArgs& args);

/// report::selectRuns(store, toSelection(args)), warning (log) about every --where key that no
/// run in the store has: a typo ("batch_norm" for "model.batch_norm") otherwise selects
/// nothing without a word. Throws UsageError / StoreError as those two.
std::vector<tracking::RunRow> selectRunsFromArgs(const tracking::SqliteStore& store,
                                                 const SelectionArgs& args);

}  // namespace ferlab::cli
