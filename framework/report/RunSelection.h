#pragma once
// Which runs a command acts on (`ferlab export`, `ferlab plot`, reports): experiments, run
// ids (or unique prefixes) and key=value filters on the flattened resolved config.

#include <string>
#include <utility>
#include <vector>

#include "framework/tracking/SqliteStore.h"

namespace ferlab::report {

/// Every non-empty criterion must hold; an empty criterion matches any run.
struct RunSelection {
  std::vector<std::string> experiments;  ///< experiment names; empty: any
  std::vector<std::string> run_ids;      ///< ids or unique prefixes; empty: any
  /// Param key = value, all must hold, compared as text ("train.lr", "0.001"); the keys
  /// "status", "experiment", "name", "id", "backbone" and "kind" (train | ensemble) match the
  /// run record itself.
  std::vector<std::pair<std::string, std::string>> where;
};

/// Parses "key=value" (split at the first '='; key and value trimmed of spaces, key must be
/// non-empty). Throws UsageError naming the argument when malformed.
std::pair<std::string, std::string> parseWhere(const std::string& text);

/// Runs matching every criterion, in store order (experiment, grid order). Throws StoreError
/// for an unknown (or ambiguous) run id; an empty result is not an error here.
std::vector<tracking::RunRow> selectRuns(const tracking::SqliteStore& store,
                                         const RunSelection& selection);

}  // namespace ferlab::report
