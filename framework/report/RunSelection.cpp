#include "framework/report/RunSelection.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::report {
namespace {

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

// A finite number spelled in full by `text` ("0.001", "1e-3"), or nothing.
bool parseNumber(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(value);
}

// Text equality, or numeric equality when both sides are numbers, so `train.lr=1e-3` matches
// the stored "0.001" and `train.epochs=3.0` matches "3".
bool valuesEqual(const std::string& stored, const std::string& wanted) {
  if (stored == wanted) return true;
  double a = 0, b = 0;
  return parseNumber(stored, a) && parseNumber(wanted, b) && a == b;
}

// The run's value for a `where` key: record fields first, then the flattened config.
bool lookup(const tracking::RunRecord& record, const std::string& key, std::string& value) {
  if (key == "status") {
    value = tracking::statusName(record.status);
  } else if (key == "experiment") {
    value = record.experiment;
  } else if (key == "name") {
    value = record.name;
  } else if (key == "id") {
    value = record.id;
  } else if (key == "backbone") {
    value = record.backbone;
  } else if (key == "kind") {
    value = tracking::kindName(record.kind);
  } else {
    const auto found = std::find_if(record.params.begin(), record.params.end(),
                                    [&](const auto& param) { return param.first == key; });
    if (found == record.params.end()) return false;
    value = found->second;
  }
  return true;
}

bool matchesWhere(const tracking::RunRecord& record,
                  const std::vector<std::pair<std::string, std::string>>& where) {
  for (const auto& [key, wanted] : where) {
    std::string value;
    if (!lookup(record, key, value) || !valuesEqual(value, wanted)) return false;
  }
  return true;
}

}  // namespace

std::pair<std::string, std::string> parseWhere(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == std::string::npos) {
    throw UsageError(fmt::format(
        "--where '{}': expected key=value, e.g. train.lr=0.001 or status=finished", text));
  }
  std::string key = trim(text.substr(0, equals)), value = trim(text.substr(equals + 1));
  if (key.empty()) throw UsageError(fmt::format("--where '{}': the key is empty", text));
  return {std::move(key), std::move(value)};
}

std::vector<tracking::RunRow> selectRuns(const tracking::SqliteStore& store,
                                         const RunSelection& selection) {
  // Resolve every id first so an unknown or ambiguous one fails even when other criteria
  // would have excluded it anyway.
  std::set<std::string> ids;
  for (const auto& id : selection.run_ids) ids.insert(store.getRun(id).record.id);
  const std::set<std::string> experiments(selection.experiments.begin(),
                                          selection.experiments.end());
  std::vector<tracking::RunRow> selected;
  for (auto& row : store.listRuns()) {
    if (!experiments.empty() && !experiments.count(row.record.experiment)) continue;
    if (!ids.empty() && !ids.count(row.record.id)) continue;
    if (!matchesWhere(row.record, selection.where)) continue;
    selected.push_back(std::move(row));
  }
  return selected;
}

}  // namespace ferlab::report
