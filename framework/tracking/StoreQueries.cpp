// The reads of SqliteStore (declared in SqliteStore.h): runs with their params, epoch
// history, split metrics, phases and predictions. Multi-statement reads run in one BEGIN
// transaction so that they see one consistent state of the file.

#include "framework/tracking/SqliteStore.h"

#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "framework/tracking/StoreRows.h"

namespace ferlab::tracking {

using detail::Context;
using detail::kRunColumns;
using detail::kSelectParams;
using detail::loadParams;
using detail::loadRunRow;
using detail::readRunRow;
using detail::Row;
using detail::splitCounts;
using detail::Statement;
using detail::throwError;
using detail::Transaction;

std::optional<RunRecord> SqliteStore::findRun(const std::string& id) const {
  const Context ctx{db_, path_, "reading run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN");
  std::optional<RunRow> row = loadRunRow(ctx, id);
  transaction.commit();
  if (!row) return std::nullopt;
  return std::move(row->record);
}

std::vector<RunRow> SqliteStore::listRuns(const std::string& experiment) const {
  const Context ctx{db_, path_, "listing runs"};
  Transaction transaction(ctx, "BEGIN");
  // Experiments in creation order (rowid breaks ties within one second), runs in grid order.
  Statement select(ctx, std::string("SELECT ") + kRunColumns +
                            " FROM runs r LEFT JOIN experiments e ON e.name = r.experiment "
                            "WHERE ?1 = '' OR r.experiment = ?1 "
                            "ORDER BY e.created_at, e.rowid, r.kind = 'ensemble', "
                            "r.grid_index, r.id");
  select.bind(1, experiment);
  std::vector<RunRow> rows;
  while (select.step()) rows.push_back(readRunRow(Row(select)));
  Statement params(ctx, kSelectParams);
  for (RunRow& row : rows) loadParams(params, row.record);
  transaction.commit();
  return rows;
}

RunRow SqliteStore::getRun(const std::string& id_or_prefix) const {
  const Context ctx{db_, path_, "looking up run '" + id_or_prefix + "'"};
  Transaction transaction(ctx, "BEGIN");
  if (std::optional<RunRow> exact = loadRunRow(ctx, id_or_prefix)) {
    transaction.commit();
    return std::move(*exact);
  }
  // substr rather than LIKE: '_' and '%' in the prefix must not act as wildcards.
  Statement select(ctx,
                   "SELECT id, name FROM runs WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id");
  select.bind(1, id_or_prefix);
  std::vector<std::pair<std::string, std::string>> matches;
  while (select.step()) {
    Row row(select);
    std::string id = row.text();
    matches.emplace_back(std::move(id), row.text());
  }
  if (matches.empty()) throw StoreError(path_ + ": no run matches '" + id_or_prefix + "'");
  if (matches.size() > 1) {
    std::string list;
    for (const auto& [id, name] : matches) {
      list += (list.empty() ? "" : ", ") + id + " (" + name + ")";
    }
    throw StoreError(path_ + ": run id prefix '" + id_or_prefix + "' is ambiguous; it matches " +
                     std::to_string(matches.size()) + " runs: " + list);
  }
  RunRow row = *loadRunRow(ctx, matches.front().first);
  transaction.commit();
  return row;
}

std::vector<EpochRecord> SqliteStore::epochs(const std::string& id) const {
  const Context ctx{db_, path_, "reading the epochs of run '" + id + "'"};
  Statement select(
      ctx,
      "SELECT epoch, phase, train_loss, train_accuracy, val_loss, val_accuracy, "
      "val_macro_f1, lr, images_per_sec, seconds, class_counts FROM epochs WHERE run_id = ?1 "
      "ORDER BY epoch");
  select.bind(1, id);
  std::vector<EpochRecord> result;
  while (select.step()) {
    Row row(select);
    EpochRecord e;
    e.epoch = static_cast<int>(row.integer());
    e.phase = row.text();
    e.train_loss = row.real();
    e.train_accuracy = row.real();
    e.val_loss = row.real();
    e.val_accuracy = row.real();
    e.val_macro_f1 = row.real();
    e.lr = row.real();
    e.images_per_sec = row.real();
    e.seconds = row.real();
    e.class_counts = splitCounts(row.text());
    result.push_back(std::move(e));
  }
  return result;
}

std::vector<SplitMetrics> SqliteStore::splitMetrics(const std::string& id) const {
  const Context ctx{db_, path_, "reading the split metrics of run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN");
  std::vector<SplitMetrics> result;
  // rowid order: the order finishRun received the splits in.
  Statement splits(ctx,
                   "SELECT split, loss, accuracy, macro_f1 FROM split_metrics "
                   "WHERE run_id = ?1 ORDER BY rowid");
  splits.bind(1, id);
  while (splits.step()) {
    Row row(splits);
    SplitMetrics m;
    m.split = row.text();
    m.loss = row.real();
    m.accuracy = row.real();
    m.macro_f1 = row.real();
    result.push_back(std::move(m));
  }

  Statement classes(ctx,
                    "SELECT name, precision, recall, f1, support FROM class_metrics "
                    "WHERE run_id = ?1 AND split = ?2 ORDER BY class_index");
  // Every cell is stored, so the counts in (true, predicted) order are the row-major matrix.
  Statement cells(ctx,
                  "SELECT count FROM confusion WHERE run_id = ?1 AND split = ?2 "
                  "ORDER BY true_class, predicted_class");
  for (SplitMetrics& m : result) {
    classes.bind(1, id).bind(2, m.split);
    while (classes.step()) {
      Row row(classes);
      ClassMetrics c;
      c.name = row.text();
      c.precision = row.real();
      c.recall = row.real();
      c.f1 = row.real();
      c.support = row.integer();
      m.classes.push_back(std::move(c));
    }
    classes.reset();

    cells.bind(1, id).bind(2, m.split);
    while (cells.step()) m.confusion.push_back(Row(cells).integer());
    cells.reset();
  }
  transaction.commit();
  return result;
}

std::vector<Prediction> SqliteStore::predictions(const std::string& id,
                                                 const std::string& split) const {
  const Context ctx{db_, path_, "reading the " + split + " predictions of run '" + id + "'"};
  Statement select(ctx,
                   "SELECT sample_index, sample_id, label, predicted, probabilities "
                   "FROM predictions WHERE run_id = ?1 AND split = ?2 ORDER BY sample_index");
  select.bind(1, id).bind(2, split);
  std::vector<Prediction> result;
  while (select.step()) {
    Row row(select);
    Prediction p;
    p.sample_index = row.integer();
    p.sample_id = row.text();
    p.label = row.integer();
    p.predicted = row.integer();
    p.probabilities = row.floats();
    result.push_back(std::move(p));
  }
  return result;
}

std::vector<EnsembleMember> SqliteStore::ensembleMembers(const std::string& id) const {
  const Context ctx{db_, path_, "reading the members of ensemble '" + id + "'"};
  Statement select(ctx,
                   "SELECT member_run_id, weight FROM ensemble_members WHERE run_id = ?1 "
                   "ORDER BY weight DESC, member_run_id");
  select.bind(1, id);
  std::vector<EnsembleMember> members;
  while (select.step()) {
    Row row(select);
    EnsembleMember member;
    member.run_id = row.text();
    member.weight = row.real();
    members.push_back(std::move(member));
  }
  return members;
}

std::vector<PhaseRecord> SqliteStore::phases(const std::string& id) const {
  const Context ctx{db_, path_, "reading the phases of run '" + id + "'"};
  Statement select(ctx,
                   "SELECT phase_index, name, first_epoch, epochs, trainable_params, total_params "
                   "FROM phases WHERE run_id = ?1 ORDER BY phase_index");
  select.bind(1, id);
  std::vector<PhaseRecord> phases;
  while (select.step()) {
    Row row(select);
    PhaseRecord phase;
    phase.index = static_cast<int>(row.integer());
    phase.name = row.text();
    phase.first_epoch = static_cast<int>(row.integer());
    phase.epochs = static_cast<int>(row.integer());
    phase.trainable_params = row.integer();
    phase.total_params = row.integer();
    phases.push_back(std::move(phase));
  }
  return phases;
}

std::optional<ExperimentInfo> SqliteStore::experimentInfo(const std::string& name) const {
  const Context ctx{db_, path_, "reading experiment '" + name + "'"};
  Statement select(ctx, "SELECT name, source, grid_keys FROM experiments WHERE name = ?1");
  select.bind(1, name);
  if (!select.step()) return std::nullopt;
  Row row(select);
  ExperimentInfo info;
  info.name = row.text();
  info.source = row.text();
  const std::string grid_keys = row.text();
  const auto keys = nlohmann::json::parse(grid_keys, nullptr, /*allow_exceptions=*/false);
  if (!keys.is_array()) throwError(ctx, "grid_keys is not a JSON array: " + grid_keys);
  for (const auto& key : keys) {
    if (!key.is_string()) throwError(ctx, "grid_keys holds a non-string: " + grid_keys);
    info.grid_keys.push_back(key.get<std::string>());
  }
  return info;
}

}  // namespace ferlab::tracking
