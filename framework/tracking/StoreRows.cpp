#include "framework/tracking/StoreRows.h"

#include <algorithm>
#include <utility>

namespace ferlab::tracking::detail {

std::string joinCounts(const std::vector<std::int64_t>& counts) {
  std::string text;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(counts[i]);
  }
  return text;
}

std::vector<std::int64_t> splitCounts(const std::string& text) {
  std::vector<std::int64_t> counts;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    counts.push_back(std::stoll(text.substr(start, end - start)));
    start = end + 1;
  }
  return counts;
}

RunRow readRunRow(Row row) {
  RunRow result;
  RunRecord& r = result.record;
  r.id = row.text();
  r.experiment = row.text();
  r.name = row.text();
  r.status = parseStatus(row.text());
  r.grid_index = static_cast<int>(row.integer());
  r.config_json = row.text();
  r.config_hash = row.text();
  r.seed = row.integer();
  r.backbone = row.text();
  r.git_commit = row.text();
  r.ferlab_version = row.text();
  r.torch_version = row.text();
  r.opencv_version = row.text();
  r.device = row.text();
  r.dataset_key = row.text();
  r.started_at = row.text();
  r.ended_at = row.text();
  r.error = row.text();
  RunSummary& s = result.summary;
  s.best_epoch = row.knownInt();
  s.best_val_accuracy = row.known();
  s.best_val_macro_f1 = row.known();
  s.best_val_loss = row.known();
  s.last_epoch = row.knownInt();
  s.last_val_accuracy = row.known();
  s.last_train_loss = row.known();
  s.last_train_accuracy = row.known();
  s.test_accuracy = row.known();
  s.test_macro_f1 = row.known();
  s.images_per_sec = row.known();
  s.duration_s = row.known();
  r.pretrained = row.knownInt();
  r.alignment.aligned = row.knownInt();
  r.alignment.face_only = row.knownInt();
  r.alignment.none = row.knownInt();
  r.precision = row.text();
  r.weights_loaded = row.knownInt();
  r.weights_total = row.knownInt();
  r.kind = parseKind(row.text());
  r.owner.host = row.text();
  r.owner.pid = row.integer();
  r.owner.holds = row.integer() != 0;
  r.owner.heartbeat_at = row.known();
  r.owner.heartbeat_age_s = row.known();
  return result;
}

/// Fills params (insertion order, which is the caller's order) and grid_values (grid order).
void loadParams(Statement& select, RunRecord& record) {
  select.bind(1, record.id);
  std::vector<std::pair<int, std::pair<std::string, std::string>>> grid;
  while (select.step()) {
    Row row(select);
    std::string key = row.text();
    std::string value = row.text();
    const int axis = static_cast<int>(row.integer());
    if (axis > 0) grid.push_back({axis, {key, value}});
    record.params.emplace_back(std::move(key), std::move(value));
  }
  select.reset();
  std::sort(grid.begin(), grid.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& entry : grid) record.grid_values.push_back(std::move(entry.second));
}

std::optional<RunRow> loadRunRow(const Context& ctx, const std::string& id) {
  Statement select(ctx, std::string("SELECT ") + kRunColumns + " FROM runs r WHERE r.id = ?1");
  select.bind(1, id);
  if (!select.step()) return std::nullopt;
  RunRow result = readRunRow(Row(select));
  Statement params(ctx, kSelectParams);
  loadParams(params, result.record);
  return result;
}

}  // namespace ferlab::tracking::detail
