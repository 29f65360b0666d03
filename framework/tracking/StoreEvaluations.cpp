// Cross-dataset evaluations in the store (declared in SqliteStore.h; schema v8 in
// StoreSchema.cpp): recordEvaluation writes one evaluation in one BEGIN IMMEDIATE
// transaction, replacing the run's earlier one on the same content and class map;
// evaluations() reads them back in one BEGIN transaction.

#include "framework/tracking/SqliteStore.h"

#include <sqlite3.h>

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "framework/core/Provenance.h"
#include "framework/tracking/Statement.h"

namespace ferlab::tracking {
namespace {

using detail::Context;
using detail::Row;
using detail::Statement;
using detail::throwError;
using detail::Transaction;

void checkShapes(const Context& ctx, const EvaluationRecord& e) {
  const std::size_t k = e.class_names.size();
  const std::size_t d = e.classes.size();
  if (e.class_metrics.size() != d) {
    throwError(ctx, std::to_string(e.class_metrics.size()) + " per-class rows for " +
                        std::to_string(d) + " classes");
  }
  if (e.confusion.size() != d * k) {
    throwError(ctx, "confusion matrix of " + std::to_string(e.confusion.size()) +
                        " cells, expected " + std::to_string(d) + " x " + std::to_string(k));
  }
  for (const int c : e.classes) {
    if (c < 0 || static_cast<std::size_t>(c) >= k)
      throwError(ctx, "class index " + std::to_string(c) + " outside the model's classes");
  }
  for (const EvaluationPrediction& p : e.predictions) {
    if (p.probabilities.size() != k) {
      throwError(ctx, "prediction of " + p.sample_id + " has " +
                          std::to_string(p.probabilities.size()) + " probabilities, expected " +
                          std::to_string(k));
    }
  }
}

/// A count that is -1 while unknown binds as NULL.
void bindCount(Statement& statement, int index, std::int64_t count) {
  if (count < 0) {
    statement.bindNull(index);
  } else {
    statement.bind(index, count);
  }
}

std::int64_t readCount(Row& row) {
  const bool unknown = row.isNull();
  const std::int64_t value = row.integer();
  return unknown ? -1 : value;
}

// The children of the evaluation row with id `evaluation_id` (the row is read already).
void loadDetails(const Context& ctx, std::int64_t evaluation_id, bool with_predictions,
                 EvaluationRecord& e) {
  Statement classes(ctx,
                    "SELECT class_index, name, precision, recall, f1, support FROM "
                    "evaluation_classes WHERE evaluation_id = ?1 ORDER BY class_index");
  classes.bind(1, evaluation_id);
  while (classes.step()) {
    Row row(classes);
    e.classes.push_back(static_cast<int>(row.integer()));
    ClassMetrics m;
    m.name = row.text();
    m.precision = row.real();
    m.recall = row.real();
    m.f1 = row.real();
    m.support = row.integer();
    e.class_metrics.push_back(std::move(m));
  }
  // Every cell is stored, so (true, predicted) order is the row-major matrix.
  Statement cells(ctx,
                  "SELECT count FROM evaluation_confusion WHERE evaluation_id = ?1 "
                  "ORDER BY true_class, predicted_class");
  cells.bind(1, evaluation_id);
  while (cells.step()) e.confusion.push_back(Row(cells).integer());
  if (!with_predictions) return;
  Statement samples(ctx,
                    "SELECT sample_id, label, predicted, restricted, probabilities FROM "
                    "evaluation_predictions WHERE evaluation_id = ?1 ORDER BY sample_index");
  samples.bind(1, evaluation_id);
  while (samples.step()) {
    Row row(samples);
    EvaluationPrediction p;
    p.sample_id = row.text();
    p.label = row.integer();
    p.predicted = row.integer();
    p.restricted = row.integer();
    p.probabilities = row.floats();
    e.predictions.push_back(std::move(p));
  }
}

}  // namespace

bool SqliteStore::recordEvaluation(const EvaluationRecord& e) {
  const Context ctx{db_, path_,
                    "recording the evaluation of run '" + e.run_id + "' on " + e.dataset};
  checkShapes(ctx, e);
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  Statement exists(ctx, "SELECT 1 FROM runs WHERE id = ?1");
  exists.bind(1, e.run_id);
  if (!exists.step()) throwError(ctx, "no run '" + e.run_id + "' in the store");

  // The same run, content and class map: the earlier result is replaced (children first, so
  // the replacement does not depend on foreign-key cascades being on).
  Statement previous(ctx,
                     "SELECT id FROM evaluations WHERE run_id = ?1 AND content_hash = ?2 AND "
                     "class_map = ?3");
  previous.bind(1, e.run_id).bind(2, e.content_hash).bind(3, e.class_map);
  const bool replacing = previous.step();
  const std::int64_t old_id = replacing ? Row(previous).integer() : 0;
  previous.reset();  // finished before its table changes
  if (replacing) {
    for (const char* table :
         {"evaluation_predictions", "evaluation_confusion", "evaluation_classes"}) {
      Statement remove(ctx, std::string("DELETE FROM ") + table + " WHERE evaluation_id = ?1");
      remove.bind(1, old_id).run();
    }
    Statement remove(ctx, "DELETE FROM evaluations WHERE id = ?1");
    remove.bind(1, old_id).run();
  }

  Statement insert(
      ctx,
      "INSERT INTO evaluations (run_id, dataset, dataset_path, format, content_hash, class_map, "
      "class_names, images, dropped_images, accuracy, restricted_accuracy, macro_f1, "
      "align_aligned, align_face_only, align_none, evaluated_at) VALUES (?1, ?2, ?3, ?4, ?5, "
      "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  insert.bind(1, e.run_id).bind(2, e.dataset).bind(3, e.dataset_path).bind(4, e.format);
  insert.bind(5, e.content_hash).bind(6, e.class_map);
  insert.bind(7, nlohmann::json(e.class_names).dump()).bind(8, e.images);
  insert.bind(9, e.dropped_images).bind(10, e.accuracy).bind(11, e.restricted_accuracy);
  insert.bind(12, e.macro_f1);
  bindCount(insert, 13, e.alignment.aligned);
  bindCount(insert, 14, e.alignment.face_only);
  bindCount(insert, 15, e.alignment.none);
  insert.bind(16, e.evaluated_at.empty() ? core::utcNowIso8601() : e.evaluated_at).run();
  const std::int64_t id = sqlite3_last_insert_rowid(db_);

  Statement classes(ctx,
                    "INSERT INTO evaluation_classes (evaluation_id, class_index, name, precision, "
                    "recall, f1, support) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  for (std::size_t i = 0; i < e.classes.size(); ++i) {
    const ClassMetrics& m = e.class_metrics[i];
    classes.bind(1, id).bind(2, e.classes[i]).bind(3, m.name).bind(4, m.precision);
    classes.bind(5, m.recall).bind(6, m.f1).bind(7, m.support).run();
  }
  Statement cells(ctx,
                  "INSERT INTO evaluation_confusion (evaluation_id, true_class, predicted_class, "
                  "count) VALUES (?1, ?2, ?3, ?4)");
  const std::size_t k = e.class_names.size();
  for (std::size_t row = 0; row < e.classes.size(); ++row) {
    for (std::size_t column = 0; column < k; ++column) {
      cells.bind(1, id).bind(2, e.classes[row]).bind(3, static_cast<std::int64_t>(column));
      cells.bind(4, e.confusion[row * k + column]).run();
    }
  }
  // One statement reused for every sample.
  Statement samples(ctx,
                    "INSERT INTO evaluation_predictions (evaluation_id, sample_index, sample_id, "
                    "label, predicted, restricted, probabilities) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                    "?7)");
  for (std::size_t i = 0; i < e.predictions.size(); ++i) {
    const EvaluationPrediction& p = e.predictions[i];
    samples.bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, p.sample_id);
    samples.bind(4, p.label).bind(5, p.predicted).bind(6, p.restricted);
    samples.bindFloats(7, p.probabilities).run();
  }
  transaction.commit();
  return replacing;
}

std::vector<EvaluationRecord> SqliteStore::evaluations(const std::string& id,
                                                       bool with_predictions) const {
  const Context ctx{db_, path_, "reading the evaluations of run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN");
  Statement select(ctx,
                   "SELECT id, run_id, dataset, dataset_path, format, content_hash, class_map, "
                   "class_names, images, dropped_images, accuracy, restricted_accuracy, "
                   "macro_f1, align_aligned, align_face_only, align_none, evaluated_at "
                   "FROM evaluations WHERE run_id = ?1 ORDER BY dataset, evaluated_at, id");
  select.bind(1, id);
  std::vector<std::pair<std::int64_t, EvaluationRecord>> rows;
  while (select.step()) {
    Row row(select);
    const std::int64_t evaluation_id = row.integer();
    EvaluationRecord e;
    e.run_id = row.text();
    e.dataset = row.text();
    e.dataset_path = row.text();
    e.format = row.text();
    e.content_hash = row.text();
    e.class_map = row.text();
    const std::string names = row.text();
    try {
      e.class_names = nlohmann::json::parse(names).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& error) {
      throwError(ctx, "class_names '" + names + "' is not a JSON array: " + error.what());
    }
    e.images = row.integer();
    e.dropped_images = row.integer();
    e.accuracy = row.real();
    e.restricted_accuracy = row.real();
    e.macro_f1 = row.real();
    e.alignment.aligned = readCount(row);
    e.alignment.face_only = readCount(row);
    e.alignment.none = readCount(row);
    e.evaluated_at = row.text();
    rows.emplace_back(evaluation_id, std::move(e));
  }
  std::vector<EvaluationRecord> result;
  for (auto& [evaluation_id, e] : rows) {
    loadDetails(ctx, evaluation_id, with_predictions, e);
    result.push_back(std::move(e));
  }
  transaction.commit();
  return result;
}

}  // namespace ferlab::tracking
