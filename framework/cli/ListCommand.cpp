#include <algorithm>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/cli/Table.h"
#include "framework/config/ConfigLoader.h"
#include "framework/core/Progress.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::cli {
namespace {

using nlohmann::json;

// JSON null for the store's "unknown" (-1) values, so scripts need no sentinel.
json valueOrNull(double value) {
  return value < 0 ? json(nullptr) : json(value);
}

// Who trains a running run, and when it last proved alive; null for other runs.
json ownerToJson(const tracking::RunRecord& record) {
  if (record.status != tracking::RunStatus::Running) return nullptr;
  return {{"host", record.owner.host.empty() ? json(nullptr) : json(record.owner.host)},
          {"pid", record.owner.host.empty() ? json(nullptr) : json(record.owner.pid)},
          {"holds", record.owner.holds},
          {"heartbeat_age_s", valueOrNull(record.owner.heartbeat_age_s)}};
}

json runToJson(const tracking::RunRow& row) {
  const auto& record = row.record;
  const auto& summary = row.summary;
  json grid = json::object(), params = json::object();
  for (const auto& [key, value] : record.grid_values) grid[key] = value;
  for (const auto& [key, value] : record.params) params[key] = value;
  return {{"id", record.id},
          {"name", record.name},
          {"experiment", record.experiment},
          {"status", tracking::statusName(record.status)},
          {"kind", tracking::kindName(record.kind)},
          {"backbone", record.backbone},
          {"pretrained", record.pretrained < 0 ? json(nullptr) : json(record.pretrained == 1)},
          {"seed", record.seed},
          {"val_accuracy", valueOrNull(summary.best_val_accuracy)},
          {"val_macro_f1", valueOrNull(summary.best_val_macro_f1)},
          {"best_epoch", summary.best_epoch < 0 ? json(nullptr) : json(summary.best_epoch)},
          {"test_accuracy", valueOrNull(summary.test_accuracy)},
          {"test_macro_f1", valueOrNull(summary.test_macro_f1)},
          {"images_per_sec", valueOrNull(summary.images_per_sec)},
          {"duration_s", valueOrNull(summary.duration_s)},
          {"started_at", record.started_at},
          {"ended_at", record.ended_at},
          {"config_hash", record.config_hash},
          {"owner", ownerToJson(record)},
          {"grid", grid},
          {"params", params}};
}

// "host:pid, 12 s ago" for a running run's owner; "none (owner gone)" when nobody holds it (its
// process was killed; the next claimer resumes it).
std::string ownerCell(const tracking::RunRecord& record) {
  if (record.status != tracking::RunStatus::Running) return "";
  if (!record.owner.holds) return "none (owner gone)";
  return fmt::format("{}:{}, {:.0f} s ago", record.owner.host, record.owner.pid,
                     std::max(0.0, record.owner.heartbeat_age_s));
}

std::string gridValue(const tracking::RunRecord& record, const std::string& key) {
  for (const auto& [grid_key, value] : record.grid_values) {
    if (grid_key == key) return value;
  }
  return "";
}

std::string renderTable(const std::vector<tracking::RunRow>& rows) {
  std::vector<std::string> grid_keys;  // union, in first-seen order
  std::set<std::string> seen;
  for (const auto& row : rows) {
    for (const auto& [key, value] : row.record.grid_values) {
      if (seen.insert(key).second) grid_keys.push_back(key);
    }
  }
  bool any_running = false;
  for (const auto& row : rows)
    any_running = any_running || row.record.status == tracking::RunStatus::Running;
  std::vector<std::string> header = {"ID", "NAME", "STATUS", "BACKBONE"};
  header.insert(header.end(), grid_keys.begin(), grid_keys.end());
  for (const char* column : {"VAL_ACC", "TEST_ACC", "TEST_F1", "IMG/S", "DURATION"})
    header.emplace_back(column);
  if (any_running) header.emplace_back("OWNER (HEARTBEAT)");
  TextTable table(header);
  bool any_thinned = false;
  for (const auto& row : rows) {
    const auto& summary = row.summary;
    std::vector<std::string> cells = {row.record.id, row.record.name,
                                      tracking::statusName(row.record.status), row.record.backbone};
    for (const auto& key : grid_keys) cells.push_back(gridValue(row.record, key));
    cells.push_back(percentOrDash(summary.best_val_accuracy));
    // A thinned PrivateTest (data.eval_subset < 1) does not compare with published numbers.
    const bool thinned = config::evalSubsetOf(row.record.config_json) < 1.0;
    any_thinned = any_thinned || thinned;
    cells.push_back(percentOrDash(summary.test_accuracy) + (thinned ? "*" : ""));
    cells.push_back(numberOrDash(summary.test_macro_f1, 3));
    cells.push_back(numberOrDash(summary.images_per_sec, 0));
    cells.push_back(summary.duration_s < 0 ? "-" : core::formatDuration(summary.duration_s));
    if (any_running) cells.push_back(ownerCell(row.record));
    table.addRow(cells);
  }
  return table.render() + (any_thinned ? "* evaluated on a thinned PublicTest/PrivateTest "
                                         "(data.eval_subset < 1): not comparable with published "
                                         "results\n"
                                       : "");
}

}  // namespace

int listCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::string db_path, experiment;
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)")
      ("experiment,e", po::value(&experiment), "only runs of this experiment")
      ("json", "print a JSON array (one object per run) for scripts");
  // clang-format on
  po::variables_map values;
  if (!parseCommandLine(args, options, {},
                        "usage: ferlab ls [--experiment NAME] [--json] [--db PATH]", values)) {
    return 0;
  }
  const tracking::SqliteStore store(db_path, tracking::OpenMode::ReadOnly);
  const auto rows = store.listRuns(experiment);
  if (values.count("json")) {
    json array = json::array();
    for (const auto& row : rows) array.push_back(runToJson(row));
    std::cout << array.dump(2) << "\n";
  } else {
    std::cout << renderTable(rows);
  }
  return 0;
}

}  // namespace ferlab::cli
