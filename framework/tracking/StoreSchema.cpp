#include "framework/tracking/StoreSchema.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <system_error>
#include <thread>

#include "framework/core/Log.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::tracking {
namespace detail {
namespace {

// ---------------------------------------------------------------------------------------
// Schema. kMigrations[v] takes a store from version v to v + 1; append, never edit, so a
// store written by an older FERLab is brought forward step by step.

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE experiments (
  name       TEXT PRIMARY KEY,
  source     TEXT NOT NULL DEFAULT '',
  grid_keys  TEXT NOT NULL DEFAULT '[]',  -- JSON array of dotted keys, in grid order
  created_at TEXT NOT NULL                -- ISO 8601 UTC
);

CREATE TABLE runs (
  id             TEXT PRIMARY KEY,
  experiment     TEXT NOT NULL REFERENCES experiments(name),
  name           TEXT NOT NULL,
  status         TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'finished', 'failed')),
  grid_index     INTEGER NOT NULL DEFAULT 0,
  config_json    TEXT NOT NULL DEFAULT '{}',
  config_hash    TEXT NOT NULL DEFAULT '',
  seed           INTEGER NOT NULL DEFAULT 0,
  backbone       TEXT NOT NULL DEFAULT '',
  -- Provenance and lifecycle; NULL while unknown.
  git_commit     TEXT,
  ferlab_version TEXT,
  torch_version  TEXT,
  opencv_version TEXT,
  device         TEXT,
  dataset_key    TEXT,
  started_at     TEXT,
  ended_at       TEXT,
  error          TEXT,
  -- RunSummary; NULL while unknown.
  best_epoch          INTEGER,
  best_val_accuracy   REAL,
  best_val_macro_f1   REAL,
  best_val_loss       REAL,
  last_epoch          INTEGER,
  last_val_accuracy   REAL,
  last_train_loss     REAL,
  last_train_accuracy REAL,
  test_accuracy       REAL,
  test_macro_f1       REAL,
  images_per_sec      REAL,
  duration_s          REAL
);
CREATE INDEX runs_by_experiment ON runs(experiment, grid_index);
CREATE INDEX runs_by_status ON runs(status);

-- The flattened resolved config, one row per key, so runs can be selected by parameter.
-- in_grid: 0 for a fixed key, k > 0 when the key is the k-th axis of the experiment's grid.
CREATE TABLE params (
  run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  key     TEXT NOT NULL,
  value   TEXT NOT NULL,
  in_grid INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, key)
);
CREATE INDEX params_by_key ON params(key, value);

CREATE TABLE epochs (
  run_id         TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch          INTEGER NOT NULL,
  phase          TEXT NOT NULL,
  train_loss     REAL,
  train_accuracy REAL,
  val_loss       REAL,
  val_accuracy   REAL,
  val_macro_f1   REAL,
  lr             REAL,
  images_per_sec REAL,
  seconds        REAL,
  PRIMARY KEY (run_id, epoch)
);

CREATE TABLE split_metrics (
  run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  split    TEXT NOT NULL,
  loss     REAL,
  accuracy REAL,
  macro_f1 REAL,
  PRIMARY KEY (run_id, split)
);

CREATE TABLE class_metrics (
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  split       TEXT NOT NULL,
  class_index INTEGER NOT NULL,
  name        TEXT NOT NULL,
  precision   REAL,
  recall      REAL,
  f1          REAL,
  support     INTEGER NOT NULL,
  PRIMARY KEY (run_id, split, class_index)
);

-- Every cell of the k x k matrix, zeros included, so k survives the round trip.
CREATE TABLE confusion (
  run_id          TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  split           TEXT NOT NULL,
  true_class      INTEGER NOT NULL,
  predicted_class INTEGER NOT NULL,
  count           INTEGER NOT NULL,
  PRIMARY KEY (run_id, split, true_class, predicted_class)
);

-- probabilities: little-endian float32 array, one value per class.
CREATE TABLE predictions (
  run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  split         TEXT NOT NULL,
  sample_index  INTEGER NOT NULL,
  sample_id     TEXT NOT NULL,
  label         INTEGER NOT NULL,
  predicted     INTEGER NOT NULL,
  probabilities BLOB NOT NULL,
  PRIMARY KEY (run_id, split, sample_index)
);
)sql";

// Version 2: freeze / fine-tune phases per run, and whether the run started from
// pretrained weights (NULL for networks trained from scratch).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE phases (
  run_id           TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  phase_index      INTEGER NOT NULL,  -- from 0, in training order
  name             TEXT NOT NULL,
  first_epoch      INTEGER NOT NULL,  -- 1-based
  epochs           INTEGER NOT NULL,
  trainable_params INTEGER NOT NULL,
  total_params     INTEGER NOT NULL,
  PRIMARY KEY (run_id, phase_index)
);
ALTER TABLE runs ADD COLUMN pretrained INTEGER;
)sql";

// Version 3: face-alignment outcomes of the run's dataset (NULL when alignment is off or
// unknown), and the class distribution each training epoch actually presented (after
// balancing): comma-separated counts, one per class, NULL when unknown.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE runs ADD COLUMN align_aligned INTEGER;
ALTER TABLE runs ADD COLUMN align_face_only INTEGER;
ALTER TABLE runs ADD COLUMN align_none INTEGER;
ALTER TABLE epochs ADD COLUMN class_counts TEXT;
)sql";

// Version 4: the precision the run trained in ("fp32", "bf16", "fp16": train.precision, or
// fp32 where the device lacked it); NULL for runs recorded before.
constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE runs ADD COLUMN precision TEXT;
)sql";

// Version 5: how many of the backbone's tensors the weight file filled, of how many
// (RunRecord::weights_loaded / weights_total); NULL without a weight file and for runs
// recorded before.
constexpr const char* kSchemaV5 = R"sql(
ALTER TABLE runs ADD COLUMN weights_loaded INTEGER;
ALTER TABLE runs ADD COLUMN weights_total INTEGER;
)sql";

// Version 6: the store's identity, a random 128-bit hex id made once when the store is created
// (or migrated). Checkpoints record it (train/Checkpoints.h), so a run folder written by
// another store is recognised instead of silently resumed into one that lacks its history.
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE IF NOT EXISTS store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO store_info (key, value) VALUES ('store_id', lower(hex(randomblob(16))));
)sql";

// Version 7: what produced a run (RunKind): 'train' (`ferlab run`; every run recorded before)
// or 'ensemble' (`ferlab ensemble`: stored probabilities of finished runs averaged, no epochs,
// no checkpoint, no training config), and the members and weights of each ensemble.
// member_run_id has no foreign key: an ensemble keeps its record if a member is deleted.
constexpr const char* kSchemaV7 = R"sql(
ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'train';
CREATE TABLE ensemble_members (
  run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  member_run_id TEXT NOT NULL,
  weight        REAL NOT NULL,
  PRIMARY KEY (run_id, member_run_id)
);
)sql";

// Version 8: cross-dataset evaluations (`ferlab evaluate`): a run's selected checkpoint on
// another dataset, with its class map, both accuracies, per-class metrics, the confusion
// matrix (rows: the model classes the dataset holds; columns: every model class) and
// per-sample predictions. One row per (run, dataset content, class map): re-evaluating
// replaces it.
constexpr const char* kSchemaV8 = R"sql(
CREATE TABLE evaluations (
  id                  INTEGER PRIMARY KEY,
  run_id              TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  dataset             TEXT NOT NULL,  -- the dataset's folder (or CSV file) name
  dataset_path        TEXT NOT NULL,  -- as given to ferlab evaluate
  format              TEXT NOT NULL,  -- folder | fer2013 | csv
  content_hash        TEXT NOT NULL,  -- FNV-1a 64 of the files read, 16 hex digits
  class_map           TEXT NOT NULL,  -- canonical JSON: dataset class -> model class or null
  class_names         TEXT NOT NULL,  -- JSON array: the model's classes, index = class
  images              INTEGER NOT NULL,
  dropped_images      INTEGER NOT NULL,
  accuracy            REAL,           -- argmax over every model class
  restricted_accuracy REAL,           -- argmax over the dataset's classes only
  macro_f1            REAL,           -- over the dataset's classes
  align_aligned       INTEGER,        -- alignment outcomes; NULL when the run does not align
  align_face_only     INTEGER,
  align_none          INTEGER,
  evaluated_at        TEXT NOT NULL,  -- ISO 8601 UTC
  UNIQUE (run_id, content_hash, class_map)
);
CREATE INDEX evaluations_by_run ON evaluations(run_id, dataset);

-- One row per model class the dataset holds (class_index: the model's).
CREATE TABLE evaluation_classes (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  class_index   INTEGER NOT NULL,
  name          TEXT NOT NULL,
  precision     REAL,
  recall        REAL,
  f1            REAL,
  support       INTEGER NOT NULL,
  PRIMARY KEY (evaluation_id, class_index)
);

-- Every cell, zeros included: true_class over the dataset's classes, predicted_class over
-- every model class.
CREATE TABLE evaluation_confusion (
  evaluation_id   INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  true_class      INTEGER NOT NULL,
  predicted_class INTEGER NOT NULL,
  count           INTEGER NOT NULL,
  PRIMARY KEY (evaluation_id, true_class, predicted_class)
);

-- probabilities: little-endian float32 array, one value per model class.
CREATE TABLE evaluation_predictions (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  sample_index  INTEGER NOT NULL,
  sample_id     TEXT NOT NULL,
  label         INTEGER NOT NULL,
  predicted     INTEGER NOT NULL,
  restricted    INTEGER NOT NULL,
  probabilities BLOB NOT NULL,
  PRIMARY KEY (evaluation_id, sample_index)
);
)sql";

// Version 9: run claims (SqliteStore::claimRun), so several processes, or machines, share one
// grid without training a run twice: the owner's host and pid, a token unique to the claim
// (NULL: nobody holds the run) and its last heartbeat, in Unix seconds from SQLite's clock.
constexpr const char* kSchemaV9 = R"sql(
ALTER TABLE runs ADD COLUMN owner_host TEXT;
ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
ALTER TABLE runs ADD COLUMN owner_token TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_at REAL;
)sql";

// Version 10: status 'interrupted' (a run stopped by SIGINT/SIGTERM, resumed by the next
// claimer). It only widens runs.status's CHECK, which SQLite cannot ALTER: the table's stored
// CREATE statement is edited in place (https://sqlite.org/lang_altertable.html, section 7,
// the simpler procedure for changing a CHECK constraint that every existing row satisfies),
// by loosenRunStatusCheck below, not by this SQL.
constexpr const char* kSchemaV10 = "";

// Version 11: the FNV-1a 64 of the last.pt that committed each epoch, recorded before the file
// is renamed into place, so a resume can tell an intact last.pt from a corrupt one (a
// truncated copy, flipped bytes) instead of loading garbage. NULL for epochs recorded before.
constexpr const char* kSchemaV11 = R"sql(
ALTER TABLE epochs ADD COLUMN checkpoint_hash TEXT;
)sql";

constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2,  kSchemaV3, kSchemaV4,
                                       kSchemaV5, kSchemaV6,  kSchemaV7, kSchemaV8,
                                       kSchemaV9, kSchemaV10, kSchemaV11};

constexpr const char* kStatusCheckV1 = "'finished', 'failed'))";
constexpr const char* kStatusCheckV10 = "'finished', 'failed', 'interrupted'))";

// Schema v10's edit of runs' CHECK constraint, inside the migration's transaction: every
// existing status is still allowed, so no row needs checking.
void loosenRunStatusCheck(const Context& ctx) {
  Statement version(ctx, "PRAGMA schema_version");
  version.step();
  const std::int64_t cookie = Row(version).integer();
  version.reset();
  exec(ctx, "PRAGMA writable_schema = ON");
  Statement update(ctx,
                   "UPDATE sqlite_schema SET sql = replace(sql, ?1, ?2) "
                   "WHERE type = 'table' AND name = 'runs'");
  update.bind(1, std::string(kStatusCheckV1)).bind(2, std::string(kStatusCheckV10)).run();
  // The schema cookie tells every other connection to reload the schema.
  exec(ctx, "PRAGMA schema_version = " + std::to_string(cookie + 1));
  exec(ctx, "PRAGMA writable_schema = OFF");
  Statement check(ctx, "SELECT instr(sql, ?1) > 0 FROM sqlite_schema WHERE name = 'runs'");
  check.bind(1, std::string(kStatusCheckV10));
  if (!check.step() || Row(check).integer() == 0)
    throwError(ctx, "schema v10: the runs table has no status CHECK to widen");
}

// ---------------------------------------------------------------------------------------
// Opening and migrating.

constexpr int kBusyTimeoutMs = 60000;

void configureConnection(const Context& ctx, Journal journal) {
  sqlite3_extended_result_codes(ctx.db, 1);
  if (sqlite3_busy_timeout(ctx.db, kBusyTimeoutMs) != SQLITE_OK) throwSqlite(ctx);
  // The first statement reads the file header: a file that is not a database fails here.
  const std::string wanted = journal == Journal::Wal ? "wal" : "delete";
  Statement pragma(ctx, "PRAGMA journal_mode=" + wanted);
  const std::string mode = pragma.step() ? Row(pragma).text() : std::string();
  if (journal == Journal::Rollback && mode != "delete") {
    throwError(ctx, "cannot switch the shard store to the rollback journal (journal mode is '" +
                        mode + "'); is another process using it?");
  }
  if (journal == Journal::Wal && mode != "wal") {
    // Some filesystems (network mounts) cannot share WAL memory; the store still works,
    // with writers serialised by the rollback journal, so warn rather than fail.
    log::warn("{}: journal mode is '{}', not WAL; concurrent writers will wait longer", ctx.path,
              mode);
  }
  // NORMAL is durable across application crashes in WAL mode and avoids an fsync per
  // commit, which matters with one commit per epoch from several processes.
  exec(ctx, "PRAGMA synchronous=NORMAL");
  exec(ctx, "PRAGMA foreign_keys=ON");
}

void migrate(const Context& ctx) {
  const int target = SqliteStore::currentSchemaVersion();
  // Cheap check first so that opening a current store never takes the exclusive lock.
  if (readUserVersion(ctx) == target) return;
  Transaction transaction(ctx, "BEGIN EXCLUSIVE");
  // Re-read under the lock: another process may have migrated while we waited for it.
  const int found = readUserVersion(ctx);
  if (found > target) {
    throwError(ctx, "schema version " + std::to_string(found) +
                        " is newer than this FERLab supports (" + std::to_string(target) +
                        "); upgrade FERLab");
  }
  if (found < 0) {
    // user_version is any 32-bit integer in the file header; a negative one would index
    // before kMigrations (found by fuzzing, tests/fuzz/crashes/SqliteStore/).
    throwError(ctx, "schema version " + std::to_string(found) +
                        " is not one FERLab ever wrote: not a FERLab store, or a damaged one");
  }
  if (found == target) return;  // the transaction rolls back having changed nothing
  for (int version = found; version < target; ++version) {
    if (version + 1 == 10) {
      loosenRunStatusCheck(ctx);
    } else {
      exec(ctx, kMigrations[version]);
    }
  }
  // PRAGMA takes no bound parameters; the value is our own integer, not user input.
  exec(ctx, "PRAGMA user_version = " + std::to_string(target));
  transaction.commit();
  log::debug("{}: migrated schema from version {} to {}", ctx.path, found, target);
}

}  // namespace

void createParentFolders(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code error;
  std::filesystem::create_directories(parent, error);
  if (error) {
    throw StoreError(path + ": creating folder " + parent.string() + ": " + error.message());
  }
}

int readUserVersion(const Context& ctx) {
  Statement statement(ctx, "PRAGMA user_version");
  statement.step();
  return static_cast<int>(Row(statement).integer());
}

void openWithRetry(const Context& ctx, Journal journal) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    try {
      configureConnection(ctx, journal);
      migrate(Context{ctx.db, ctx.path, "migrating the schema"});
      return;
    } catch (const SqliteError& error) {
      if (!error.busy() || Clock::now() + pause > deadline) throw;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

int openReadOnlyWithRetry(const Context& ctx) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  auto pause = std::chrono::milliseconds(1);
  sqlite3_extended_result_codes(ctx.db, 1);
  if (sqlite3_busy_timeout(ctx.db, kBusyTimeoutMs) != SQLITE_OK) throwSqlite(ctx);
  while (true) {
    try {
      // The first read checks the file header: a file that is not a database fails here.
      return readUserVersion(ctx);
    } catch (const SqliteError& error) {
      if (!error.busy() || Clock::now() + pause > deadline) throw;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

}  // namespace detail

int SqliteStore::currentSchemaVersion() {
  return static_cast<int>(std::size(detail::kMigrations));
}

}  // namespace ferlab::tracking
