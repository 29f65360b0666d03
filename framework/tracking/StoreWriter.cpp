// The writes of SqliteStore (declared in SqliteStore.h): experiments, runs and their
// lifecycle, epochs, phases and final results, each in one BEGIN IMMEDIATE transaction.

#include "framework/tracking/SqliteStore.h"

#include <cmath>
#include <optional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "framework/core/Provenance.h"
#include "framework/tracking/RunArchive.h"
#include "framework/tracking/StoreRows.h"

namespace ferlab::tracking {
namespace {

using detail::Context;
using detail::joinCounts;
using detail::loadRunRow;
using detail::Row;
using detail::Statement;
using detail::throwError;
using detail::Transaction;

// The summary assignments bound by bindSummary as parameters ?1 .. ?12.
constexpr const char* kSummaryAssignments =
    "best_epoch = ?1, best_val_accuracy = ?2, best_val_macro_f1 = ?3, best_val_loss = ?4, "
    "last_epoch = ?5, last_val_accuracy = ?6, last_train_loss = ?7, last_train_accuracy = ?8, "
    "test_accuracy = ?9, test_macro_f1 = ?10, images_per_sec = ?11, duration_s = ?12";
constexpr int kSummaryParams = 12;

/// A count that is -1 while unknown binds as NULL.
void bindCount(Statement& statement, int index, std::int64_t count) {
  if (count < 0) {
    statement.bindNull(index);
  } else {
    statement.bind(index, count);
  }
}

void bindSummary(Statement& statement, const RunSummary& summary) {
  statement.bindKnown(1, summary.best_epoch)
      .bindKnown(2, summary.best_val_accuracy)
      .bindKnown(3, summary.best_val_macro_f1)
      .bindKnown(4, summary.best_val_loss)
      .bindKnown(5, summary.last_epoch)
      .bindKnown(6, summary.last_val_accuracy)
      .bindKnown(7, summary.last_train_loss)
      .bindKnown(8, summary.last_train_accuracy)
      .bindKnown(9, summary.test_accuracy)
      .bindKnown(10, summary.test_macro_f1)
      .bindKnown(11, summary.images_per_sec)
      .bindKnown(12, summary.duration_s);
}

/// Throws when the last UPDATE touched no row: the run id is unknown.
void requireRun(const Context& ctx, const std::string& id) {
  if (sqlite3_changes(ctx.db) == 0) throwError(ctx, "no run '" + id + "' in the store");
}

void insertParams(const Context& ctx, const RunRecord& run) {
  // Upsert so that a grid value marks its params row with its axis; a grid key missing from
  // params (not expected from ConfigLoader) still gets a row.
  Statement insert(ctx,
                   "INSERT INTO params (run_id, key, value, in_grid) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (run_id, key) DO UPDATE SET in_grid = excluded.in_grid");
  for (const auto& [key, value] : run.params) {
    insert.bind(1, run.id).bind(2, key).bind(3, value).bind(4, 0).run();
  }
  int axis = 0;
  for (const auto& [key, value] : run.grid_values) {
    insert.bind(1, run.id).bind(2, key).bind(3, value).bind(4, ++axis).run();
  }
}

/// Removes everything finishRun writes except the summary columns.
void deleteFinalResults(const Context& ctx, const std::string& id) {
  for (const char* table : {"split_metrics", "class_metrics", "confusion", "predictions"}) {
    Statement remove(ctx, std::string("DELETE FROM ") + table + " WHERE run_id = ?1");
    remove.bind(1, id).run();
  }
}

void insertPredictions(
    const Context& ctx, const std::string& id,
    const std::vector<std::pair<std::string, std::vector<Prediction>>>& predictions) {
  // One statement reused for every sample: a FER2013 test split is 7,178 rows.
  Statement insert(ctx,
                   "INSERT INTO predictions (run_id, split, sample_index, sample_id, label, "
                   "predicted, probabilities) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  for (const auto& [split, samples] : predictions) {
    for (const Prediction& p : samples) {
      insert.bind(1, id).bind(2, split).bind(3, p.sample_index).bind(4, p.sample_id);
      insert.bind(5, p.label).bind(6, p.predicted).bindFloats(7, p.probabilities).run();
    }
  }
}

void insertEpoch(const Context& ctx, const std::string& id, const EpochRecord& epoch) {
  // REPLACE: an epoch re-run after a crash between checkpoint and commit overwrites its row.
  Statement insert(
      ctx,
      "INSERT OR REPLACE INTO epochs (run_id, epoch, phase, train_loss, "
      "train_accuracy, val_loss, val_accuracy, val_macro_f1, lr, images_per_sec, "
      "seconds, class_counts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  insert.bind(1, id).bind(2, epoch.epoch).bind(3, epoch.phase).bind(4, epoch.train_loss);
  insert.bind(5, epoch.train_accuracy).bind(6, epoch.val_loss).bind(7, epoch.val_accuracy);
  insert.bind(8, epoch.val_macro_f1).bind(9, epoch.lr).bind(10, epoch.images_per_sec);
  insert.bind(11, epoch.seconds).bindOptional(12, joinCounts(epoch.class_counts)).run();
}

void insertPhase(const Context& ctx, const std::string& id, const PhaseRecord& phase) {
  // INSERT ... SELECT touches no row for an unknown run, which requireRun reports.
  Statement insert(ctx,
                   "INSERT OR REPLACE INTO phases (run_id, phase_index, name, first_epoch, epochs, "
                   "trainable_params, total_params) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 "
                   "WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1)");
  insert.bind(1, id).bind(2, phase.index).bind(3, phase.name).bind(4, phase.first_epoch);
  insert.bind(5, phase.epochs).bind(6, phase.trainable_params).bind(7, phase.total_params).run();
  requireRun(ctx, id);
}

/// The whole runs row of an archived run: identity, provenance, timestamps and summary.
void insertArchivedRun(const Context& ctx, const RunRecord& run, const RunSummary& summary) {
  Statement insert(ctx,
                   "INSERT INTO runs (id, experiment, name, status, grid_index, config_json, "
                   "config_hash, seed, backbone, git_commit, ferlab_version, torch_version, "
                   "opencv_version, device, dataset_key, started_at, ended_at, error, pretrained, "
                   "align_aligned, align_face_only, align_none, precision, weights_loaded, "
                   "weights_total, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                   "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)");
  insert.bind(1, run.id).bind(2, run.experiment).bind(3, run.name);
  insert.bind(4, std::string(statusName(run.status))).bind(5, run.grid_index);
  insert.bind(6, run.config_json).bind(7, run.config_hash).bind(8, run.seed);
  insert.bind(9, run.backbone).bindOptional(10, run.git_commit);
  insert.bindOptional(11, run.ferlab_version).bindOptional(12, run.torch_version);
  insert.bindOptional(13, run.opencv_version).bindOptional(14, run.device);
  insert.bindOptional(15, run.dataset_key).bindOptional(16, run.started_at);
  insert.bindOptional(17, run.ended_at).bindOptional(18, run.error).bindKnown(19, run.pretrained);
  bindCount(insert, 20, run.alignment.aligned);
  bindCount(insert, 21, run.alignment.face_only);
  bindCount(insert, 22, run.alignment.none);
  insert.bindOptional(23, run.precision);
  bindCount(insert, 24, run.weights_loaded);
  bindCount(insert, 25, run.weights_total);
  insert.bind(26, std::string(kindName(run.kind))).run();
  Statement update(ctx, std::string("UPDATE runs SET ") + kSummaryAssignments + " WHERE id = ?" +
                            std::to_string(kSummaryParams + 1));
  bindSummary(update, summary);
  update.bind(kSummaryParams + 1, run.id).run();
}

void insertSplit(const Context& ctx, const std::string& id, const SplitMetrics& split) {
  const auto k = static_cast<std::size_t>(std::llround(std::sqrt(split.confusion.size())));
  if (k * k != split.confusion.size()) {
    throwError(ctx, "confusion matrix of " + split.split + " has " +
                        std::to_string(split.confusion.size()) + " cells, not k x k");
  }
  Statement metrics(ctx,
                    "INSERT INTO split_metrics (run_id, split, loss, accuracy, macro_f1) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)");
  metrics.bind(1, id).bind(2, split.split).bind(3, split.loss).bind(4, split.accuracy);
  metrics.bind(5, split.macro_f1).run();

  Statement classes(ctx,
                    "INSERT INTO class_metrics (run_id, split, class_index, name, precision, "
                    "recall, f1, support) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  for (std::size_t c = 0; c < split.classes.size(); ++c) {
    const ClassMetrics& m = split.classes[c];
    classes.bind(1, id).bind(2, split.split).bind(3, static_cast<std::int64_t>(c));
    classes.bind(4, m.name).bind(5, m.precision).bind(6, m.recall).bind(7, m.f1);
    classes.bind(8, m.support).run();
  }

  Statement cells(ctx,
                  "INSERT INTO confusion (run_id, split, true_class, predicted_class, count) "
                  "VALUES (?1, ?2, ?3, ?4, ?5)");
  for (std::size_t t = 0; t < k; ++t) {
    for (std::size_t p = 0; p < k; ++p) {
      cells.bind(1, id).bind(2, split.split).bind(3, static_cast<std::int64_t>(t));
      cells.bind(4, static_cast<std::int64_t>(p)).bind(5, split.confusion[t * k + p]).run();
    }
  }
}

/// deleteFinalResults, then the split metrics, confusion matrices and predictions.
void replaceFinalResults(
    const Context& ctx, const std::string& id, const std::vector<SplitMetrics>& splits,
    const std::vector<std::pair<std::string, std::vector<Prediction>>>& predictions) {
  deleteFinalResults(ctx, id);
  for (const SplitMetrics& split : splits) insertSplit(ctx, id, split);
  insertPredictions(ctx, id, predictions);
}

}  // namespace

void SqliteStore::ensureExperiment(const std::string& name, const std::string& source,
                                   const std::vector<std::string>& grid_keys) {
  const Context ctx{db_, path_, "recording experiment '" + name + "'"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  Statement upsert(ctx,
                   "INSERT INTO experiments (name, source, grid_keys, created_at) "
                   "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
                   "source = excluded.source, grid_keys = excluded.grid_keys");
  upsert.bind(1, name).bind(2, source).bind(3, nlohmann::json(grid_keys).dump());
  upsert.bind(4, core::utcNowIso8601()).run();
  transaction.commit();
}

RunRecord SqliteStore::ensureRun(const RunRecord& run) {
  const Context ctx{db_, path_, "recording run '" + run.id + "'"};
  if (run.id.empty()) throwError(ctx, "the run has no id");
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  // A run always belongs to an experiment row (foreign key, listRuns order); create a bare
  // one when the caller has not called ensureExperiment.
  Statement experiment(ctx, "INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?1, ?2)");
  experiment.bind(1, run.experiment).bind(2, core::utcNowIso8601()).run();

  // An existing row wins: its status and history belong to earlier invocations.
  Statement insert(ctx,
                   "INSERT OR IGNORE INTO runs (id, experiment, name, status, grid_index, "
                   "config_json, config_hash, seed, backbone, git_commit, ferlab_version, "
                   "torch_version, opencv_version, device, dataset_key, kind) "
                   "VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                   "?14, ?15)");
  insert.bind(1, run.id).bind(2, run.experiment).bind(3, run.name).bind(4, run.grid_index);
  insert.bind(5, run.config_json).bind(6, run.config_hash).bind(7, run.seed);
  insert.bind(8, run.backbone).bindOptional(9, run.git_commit);
  insert.bindOptional(10, run.ferlab_version).bindOptional(11, run.torch_version);
  insert.bindOptional(12, run.opencv_version).bindOptional(13, run.device);
  insert.bindOptional(14, run.dataset_key).bind(15, std::string(kindName(run.kind))).run();
  if (sqlite3_changes(db_) > 0) insertParams(ctx, run);

  std::optional<RunRow> stored = loadRunRow(ctx, run.id);
  transaction.commit();
  return std::move(stored->record);
}

void SqliteStore::markRunning(const RunRecord& run) {
  const Context ctx{db_, path_, "marking run '" + run.id + "' running"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  requireOwnership(run.id);
  // A resumed run keeps its first started_at: it is the same run continued from a checkpoint,
  // and reports show when it began. ended_at and error of an earlier failure are cleared.
  Statement update(ctx,
                   "UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?1), "
                   "ended_at = NULL, error = NULL, git_commit = ?2, ferlab_version = ?3, "
                   "torch_version = ?4, opencv_version = ?5, device = ?6, dataset_key = ?7, "
                   "pretrained = ?9, align_aligned = ?10, align_face_only = ?11, align_none = ?12, "
                   "precision = ?13, weights_loaded = ?14, weights_total = ?15 WHERE id = ?8");
  update.bind(1, run.started_at.empty() ? core::utcNowIso8601() : run.started_at);
  update.bindOptional(2, run.git_commit).bindOptional(3, run.ferlab_version);
  update.bindOptional(4, run.torch_version).bindOptional(5, run.opencv_version);
  update.bindOptional(6, run.device).bindOptional(7, run.dataset_key).bind(8, run.id);
  update.bindKnown(9, run.pretrained);
  bindCount(update, 10, run.alignment.aligned);
  bindCount(update, 11, run.alignment.face_only);
  bindCount(update, 12, run.alignment.none);
  update.bindOptional(13, run.precision);
  bindCount(update, 14, run.weights_loaded);
  bindCount(update, 15, run.weights_total);
  update.run();
  requireRun(ctx, run.id);
  transaction.commit();
}

void SqliteStore::truncateRun(const std::string& id, int epoch) {
  const Context ctx{db_, path_, "truncating run '" + id + "' after epoch " + std::to_string(epoch)};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  requireOwnership(id);
  // Final results describe a finished run; a resumed run will write them again. The "last"
  // summary values follow the surviving history; "best" values from a removed epoch become
  // unknown until the trainer, restored from its checkpoint, records the next epoch.
  Statement summary(
      ctx,
      "UPDATE runs SET test_accuracy = NULL, test_macro_f1 = NULL, duration_s = NULL, "
      "ended_at = NULL, "
      "best_epoch = CASE WHEN best_epoch > ?2 THEN NULL ELSE best_epoch END, "
      "best_val_accuracy = CASE WHEN best_epoch > ?2 THEN NULL ELSE best_val_accuracy END, "
      "best_val_macro_f1 = CASE WHEN best_epoch > ?2 THEN NULL ELSE best_val_macro_f1 END, "
      "best_val_loss = CASE WHEN best_epoch > ?2 THEN NULL ELSE best_val_loss END, "
      "(last_epoch, last_val_accuracy, last_train_loss, last_train_accuracy) = "
      "(SELECT epoch, val_accuracy, train_loss, train_accuracy FROM epochs "
      " WHERE run_id = ?1 AND epoch <= ?2 ORDER BY epoch DESC LIMIT 1) "
      "WHERE id = ?1");
  summary.bind(1, id).bind(2, epoch).run();
  requireRun(ctx, id);
  Statement epochs(ctx, "DELETE FROM epochs WHERE run_id = ?1 AND epoch > ?2");
  epochs.bind(1, id).bind(2, epoch).run();
  deleteFinalResults(ctx, id);
  transaction.commit();
}

void SqliteStore::recordEpoch(const std::string& id, const EpochRecord& epoch,
                              const RunSummary& summary) {
  const Context ctx{db_, path_,
                    "recording epoch " + std::to_string(epoch.epoch) + " of run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  requireOwnership(id);
  // An owner's epoch is also a heartbeat: a shard store has no heartbeat thread (ClaimKeeper).
  Statement update(ctx, std::string("UPDATE runs SET ") + kSummaryAssignments +
                            ", heartbeat_at = CASE WHEN owner_token IS NULL THEN heartbeat_at "
                            "ELSE " +
                            detail::kNowUnixSeconds + " END WHERE id = ?" +
                            std::to_string(kSummaryParams + 1));
  bindSummary(update, summary);
  update.bind(kSummaryParams + 1, id).run();
  requireRun(ctx, id);
  insertEpoch(ctx, id, epoch);
  transaction.commit();
}

void SqliteStore::finishRun(
    const std::string& id, const RunSummary& summary, const std::vector<SplitMetrics>& splits,
    const std::vector<std::pair<std::string, std::vector<Prediction>>>& predictions) {
  const Context ctx{db_, path_, "finishing run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  requireOwnership(id);
  Statement update(ctx, std::string("UPDATE runs SET ") + kSummaryAssignments +
                            ", status = 'finished', error = NULL, ended_at = ?13, "
                            "owner_token = NULL, heartbeat_at = NULL WHERE id = ?14");
  bindSummary(update, summary);
  update.bind(13, core::utcNowIso8601()).bind(14, id).run();
  requireRun(ctx, id);
  // Finishing twice (a re-evaluation) replaces the earlier results instead of failing.
  replaceFinalResults(ctx, id, splits, predictions);
  transaction.commit();
}

void SqliteStore::failRun(const std::string& id, const std::string& message) {
  const Context ctx{db_, path_, "marking run '" + id + "' failed"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  requireOwnership(id);
  Statement update(ctx,
                   "UPDATE runs SET status = 'failed', error = ?1, ended_at = ?2, "
                   "owner_token = NULL, heartbeat_at = NULL WHERE id = ?3");
  update.bind(1, message).bind(2, core::utcNowIso8601()).bind(3, id).run();
  requireRun(ctx, id);
  transaction.commit();
}

void SqliteStore::recordEnsemble(
    const RunRecord& run, const RunSummary& summary, const std::vector<EnsembleMember>& members,
    const std::vector<SplitMetrics>& splits,
    const std::vector<std::pair<std::string, std::vector<Prediction>>>& predictions) {
  const Context ctx{db_, path_, "recording ensemble '" + run.id + "'"};
  if (run.id.empty()) throwError(ctx, "the ensemble has no id");
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  Statement experiment(ctx, "INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?1, ?2)");
  experiment.bind(1, run.experiment).bind(2, core::utcNowIso8601()).run();
  // Upsert: recording the same ensemble again replaces its row. The WHERE keeps a training
  // run with that id (a hash collision) untouched, which the change count then reports.
  Statement upsert(
      ctx,
      "INSERT INTO runs (id, experiment, name, status, kind, grid_index, config_json, "
      "config_hash, seed, backbone, git_commit, ferlab_version, torch_version, opencv_version, "
      "device, dataset_key, started_at, ended_at, error) VALUES (?1, ?2, ?3, 'finished', "
      "'ensemble', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, NULL) "
      "ON CONFLICT (id) DO UPDATE SET experiment = excluded.experiment, name = excluded.name, "
      "status = 'finished', grid_index = excluded.grid_index, config_json = "
      "excluded.config_json, config_hash = excluded.config_hash, seed = excluded.seed, backbone "
      "= excluded.backbone, git_commit = excluded.git_commit, ferlab_version = "
      "excluded.ferlab_version, torch_version = excluded.torch_version, opencv_version = "
      "excluded.opencv_version, device = excluded.device, dataset_key = excluded.dataset_key, "
      "started_at = excluded.started_at, ended_at = excluded.ended_at, error = NULL "
      "WHERE runs.kind = 'ensemble'");
  const std::string now = core::utcNowIso8601();
  upsert.bind(1, run.id).bind(2, run.experiment).bind(3, run.name).bind(4, run.grid_index);
  upsert.bind(5, run.config_json).bind(6, run.config_hash).bind(7, run.seed);
  upsert.bind(8, run.backbone).bindOptional(9, run.git_commit);
  upsert.bindOptional(10, run.ferlab_version).bindOptional(11, run.torch_version);
  upsert.bindOptional(12, run.opencv_version).bindOptional(13, run.device);
  upsert.bindOptional(14, run.dataset_key);
  upsert.bind(15, run.started_at.empty() ? now : run.started_at);
  upsert.bind(16, run.ended_at.empty() ? now : run.ended_at).run();
  if (sqlite3_changes(db_) == 0) {
    throwError(ctx, "run '" + run.id + "' exists and is not an ensemble; it is left unchanged");
  }
  Statement update(ctx, std::string("UPDATE runs SET ") + kSummaryAssignments + " WHERE id = ?" +
                            std::to_string(kSummaryParams + 1));
  bindSummary(update, summary);
  update.bind(kSummaryParams + 1, run.id).run();

  for (const char* table : {"params", "ensemble_members"}) {
    Statement remove(ctx, std::string("DELETE FROM ") + table + " WHERE run_id = ?1");
    remove.bind(1, run.id).run();
  }
  insertParams(ctx, run);
  Statement member(ctx,
                   "INSERT INTO ensemble_members (run_id, member_run_id, weight) "
                   "VALUES (?1, ?2, ?3)");
  std::set<std::string> seen;
  for (const EnsembleMember& m : members) {
    if (!seen.insert(m.run_id).second) throwError(ctx, "member '" + m.run_id + "' is listed twice");
    member.bind(1, run.id).bind(2, m.run_id).bind(3, m.weight).run();
  }
  replaceFinalResults(ctx, run.id, splits, predictions);
  transaction.commit();
}

void SqliteStore::recordCheckpointHash(const std::string& id, int epoch, const std::string& hash) {
  const Context ctx{
      db_, path_,
      "recording the checkpoint of epoch " + std::to_string(epoch) + " of run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  requireOwnership(id);
  Statement update(ctx, "UPDATE epochs SET checkpoint_hash = ?3 WHERE run_id = ?1 AND epoch = ?2");
  update.bind(1, id).bind(2, epoch).bind(3, hash).run();
  if (sqlite3_changes(db_) != 1)
    throwError(ctx, "no epoch " + std::to_string(epoch) + " of run '" + id + "' to attach it to");
  transaction.commit();
}

SqliteStore::CheckpointKnowledge SqliteStore::checkpointKnowledge(const std::string& id,
                                                                  const std::string& hash) const {
  const Context ctx{db_, path_, "reading the checkpoint hashes of run '" + id + "'"};
  Statement select(ctx,
                   "SELECT count(checkpoint_hash), coalesce(sum(checkpoint_hash = ?2), 0) "
                   "FROM epochs WHERE run_id = ?1");
  select.bind(1, id).bind(2, hash);
  select.step();
  Row row(select);
  CheckpointKnowledge knowledge;
  knowledge.any_recorded = row.integer() > 0;
  knowledge.matches = row.integer() > 0;
  return knowledge;
}

void SqliteStore::recordPhase(const std::string& id, const PhaseRecord& phase) {
  const Context ctx{db_, path_, "recording phase '" + phase.name + "' of run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  requireOwnership(id);
  insertPhase(ctx, id, phase);
  transaction.commit();
}

namespace {

/// Writes every row of an archived run (its experiment row when missing, the run, params,
/// members, epochs, phases, final results).
void insertArchive(const Context& ctx, const RunArchive& archive) {
  const RunRecord& run = archive.record;
  Statement experiment(ctx,
                       "INSERT OR IGNORE INTO experiments (name, source, grid_keys, created_at) "
                       "VALUES (?1, ?2, ?3, ?4)");
  experiment.bind(1, run.experiment).bind(2, archive.experiment.source);
  experiment.bind(3, nlohmann::json(archive.experiment.grid_keys).dump());
  experiment.bind(4, run.started_at.empty() ? core::utcNowIso8601() : run.started_at).run();

  insertArchivedRun(ctx, run, archive.summary);
  insertParams(ctx, run);
  Statement member(ctx,
                   "INSERT INTO ensemble_members (run_id, member_run_id, weight) "
                   "VALUES (?1, ?2, ?3)");
  for (const EnsembleMember& m : archive.members) {
    member.bind(1, run.id).bind(2, m.run_id).bind(3, m.weight).run();
  }
  for (const EpochRecord& epoch : archive.epochs) insertEpoch(ctx, run.id, epoch);
  for (const PhaseRecord& phase : archive.phases) insertPhase(ctx, run.id, phase);
  for (const SplitMetrics& split : archive.splits) insertSplit(ctx, run.id, split);
  insertPredictions(ctx, run.id, archive.predictions);
}

void deleteRun(const Context& ctx, const std::string& id) {
  Statement remove(ctx, "DELETE FROM runs WHERE id = ?1");  // ON DELETE CASCADE
  remove.bind(1, id).run();
}

}  // namespace

ImportOutcome SqliteStore::importRun(const RunArchive& archive) {
  const RunRecord& run = archive.record;
  const Context ctx{db_, path_, "importing run '" + run.id + "'"};
  if (run.id.empty()) throwError(ctx, "the run has no id");
  if (run.status != RunStatus::Finished) throwError(ctx, "only finished runs are imported");
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  const std::optional<RunRow> existing = loadRunRow(ctx, run.id);
  auto outcome = ImportOutcome::Imported;
  if (existing) {
    if (existing->record.status == RunStatus::Finished) {
      return ImportOutcome::AlreadyPresent;  // the transaction rolls back: nothing written
    }
    deleteRun(ctx, run.id);
    outcome = ImportOutcome::Replaced;
  }
  insertArchive(ctx, archive);
  transaction.commit();
  return outcome;
}

MergeOutcome SqliteStore::mergeRun(const RunArchive& archive) {
  const RunRecord& run = archive.record;
  const Context ctx{db_, path_, "merging run '" + run.id + "'"};
  if (run.id.empty()) throwError(ctx, "the run has no id");
  if (run.status == RunStatus::Queued) throwError(ctx, "a queued run has nothing to merge");
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  const std::optional<RunRow> existing = loadRunRow(ctx, run.id);
  if (existing) {
    const RunRecord& here = existing->record;
    const bool same = here.status == run.status &&
                      existing->summary.last_epoch == archive.summary.last_epoch &&
                      here.ended_at == run.ended_at && here.error == run.error;
    if (here.status == RunStatus::Finished || same) return MergeOutcome::Unchanged;
    deleteRun(ctx, run.id);
  }
  insertArchive(ctx, archive);
  transaction.commit();
  return existing ? MergeOutcome::Replaced : MergeOutcome::Added;
}

}  // namespace ferlab::tracking
