#include "framework/tracking/SqliteStore.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <map>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/core/Provenance.h"

// Probabilities are stored as the raw bytes of float32 arrays; fixing the byte order to
// little-endian keeps the files portable between the machines FERLab runs on.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "float32 blobs assume little-endian");
static_assert(sizeof(float) == 4, "float32 blobs assume 4-byte floats");

namespace ferlab::tracking {
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

constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4};

// The run columns read into a RunRow, in the order readRunRow consumes them.
constexpr const char* kRunColumns =
    "r.id, r.experiment, r.name, r.status, r.grid_index, r.config_json, r.config_hash, "
    "r.seed, r.backbone, r.git_commit, r.ferlab_version, r.torch_version, r.opencv_version, "
    "r.device, r.dataset_key, r.started_at, r.ended_at, r.error, r.best_epoch, "
    "r.best_val_accuracy, r.best_val_macro_f1, r.best_val_loss, r.last_epoch, "
    "r.last_val_accuracy, r.last_train_loss, r.last_train_accuracy, r.test_accuracy, "
    "r.test_macro_f1, r.images_per_sec, r.duration_s, r.pretrained, r.align_aligned, "
    "r.align_face_only, r.align_none, r.precision";

// The summary assignments bound by bindSummary as parameters ?1 .. ?12.
constexpr const char* kSummaryAssignments =
    "best_epoch = ?1, best_val_accuracy = ?2, best_val_macro_f1 = ?3, best_val_loss = ?4, "
    "last_epoch = ?5, last_val_accuracy = ?6, last_train_loss = ?7, last_train_accuracy = ?8, "
    "test_accuracy = ?9, test_macro_f1 = ?10, images_per_sec = ?11, duration_s = ?12";
constexpr int kSummaryParams = 12;

constexpr int kBusyTimeoutMs = 60000;

// ---------------------------------------------------------------------------------------
// SQLite plumbing: error context, statements, transactions.

/// What a store operation is doing, so every error reads "<db path>: <what>: <message>".
struct Context {
  sqlite3* db;
  const std::string& path;
  std::string what;
};

[[noreturn]] void throwError(const Context& ctx, const std::string& message) {
  throw StoreError(ctx.path + ": " + ctx.what + ": " + message);
}

/// A StoreError that remembers the SQLite result code, so opening can tell a lock it may
/// wait out from a real failure.
class SqliteError : public StoreError {
 public:
  SqliteError(const std::string& message, int code) : StoreError(message), code_(code) {}
  bool busy() const { return (code_ & 0xff) == SQLITE_BUSY || (code_ & 0xff) == SQLITE_LOCKED; }

 private:
  int code_;
};

[[noreturn]] void throwSqlite(const Context& ctx) {
  throw SqliteError(ctx.path + ": " + ctx.what + ": " + sqlite3_errmsg(ctx.db),
                    sqlite3_extended_errcode(ctx.db));
}

void exec(const Context& ctx, const std::string& sql) {
  if (sqlite3_exec(ctx.db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    throwSqlite(ctx);
  }
}

/// A prepared statement, finalized on destruction. Binds are 1-based like SQLite's; reads
/// go through Row, which walks the result columns in order.
class Statement {
 public:
  Statement(const Context& ctx, const std::string& sql) : ctx_(ctx) {
    if (sqlite3_prepare_v2(ctx.db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
        SQLITE_OK) {
      throwSqlite(ctx);
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const std::string& text) {
    // SQLITE_TRANSIENT: the caller's string may die before the statement steps.
    return check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                                   SQLITE_TRANSIENT));
  }
  Statement& bind(int index, std::int64_t value) {
    return check(sqlite3_bind_int64(stmt_, index, value));
  }
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value) {
    return check(sqlite3_bind_double(stmt_, index, value));
  }
  Statement& bindNull(int index) { return check(sqlite3_bind_null(stmt_, index)); }
  /// Empty text is "unknown" in the records and NULL in the database.
  Statement& bindOptional(int index, const std::string& text) {
    return text.empty() ? bindNull(index) : bind(index, text);
  }
  /// Summary values use -1 (and NaN) for "unknown"; the database says so with NULL.
  Statement& bindKnown(int index, double value) {
    return std::isnan(value) || value == -1 ? bindNull(index) : bind(index, value);
  }
  Statement& bindKnown(int index, int value) {
    return value == -1 ? bindNull(index) : bind(index, value);
  }
  Statement& bindFloats(int index, const std::vector<float>& values) {
    // An empty vector has no data pointer, and binding nullptr would store NULL.
    if (values.empty()) return check(sqlite3_bind_zeroblob(stmt_, index, 0));
    return check(sqlite3_bind_blob(stmt_, index, values.data(),
                                   static_cast<int>(values.size() * sizeof(float)), SQLITE_STATIC));
  }

  /// Steps once; true when a row is ready to read.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throwSqlite(ctx_);
  }
  /// Runs a statement that returns no rows, then makes it ready for the next bindings.
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  sqlite3_stmt* handle() const { return stmt_; }
  const Context& context() const { return ctx_; }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) throwSqlite(ctx_);
    return *this;
  }

  const Context& ctx_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// The current result row of a statement, read column after column.
class Row {
 public:
  explicit Row(const Statement& statement) : statement_(statement) {}

  bool isNull() const { return sqlite3_column_type(stmt(), column_) == SQLITE_NULL; }
  /// NULL reads as empty text.
  std::string text() {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt(), column_));
    const int bytes = sqlite3_column_bytes(stmt(), column_++);
    return data ? std::string(data, static_cast<std::size_t>(bytes)) : std::string();
  }
  std::int64_t integer() { return sqlite3_column_int64(stmt(), column_++); }
  /// SQLite stores NaN as NULL, so NULL reads back as NaN (a diverged loss stays NaN).
  double real() {
    const double value = isNull() ? std::numeric_limits<double>::quiet_NaN()
                                  : sqlite3_column_double(stmt(), column_);
    ++column_;
    return value;
  }
  /// Summary values: NULL reads as -1, "unknown".
  double known() {
    const double value = isNull() ? -1.0 : sqlite3_column_double(stmt(), column_);
    ++column_;
    return value;
  }
  int knownInt() {
    const int value = isNull() ? -1 : sqlite3_column_int(stmt(), column_);
    ++column_;
    return value;
  }
  std::vector<float> floats() {
    const void* data = sqlite3_column_blob(stmt(), column_);
    const auto bytes = static_cast<std::size_t>(sqlite3_column_bytes(stmt(), column_++));
    if (bytes % sizeof(float) != 0) {
      throwError(statement_.context(),
                 "probability blob of " + std::to_string(bytes) + " bytes is not float32");
    }
    std::vector<float> values(bytes / sizeof(float));
    if (bytes > 0) std::memcpy(values.data(), data, bytes);
    return values;
  }

 private:
  sqlite3_stmt* stmt() const { return statement_.handle(); }

  const Statement& statement_;
  int column_ = 0;
};

/// One transaction: begun on construction, rolled back on destruction unless committed, so
/// an exception anywhere inside a write leaves the store as it was.
class Transaction {
 public:
  /// `begin`: "BEGIN IMMEDIATE" for writes (takes the write lock up front, waiting under the
  /// busy timeout, so a read never has to be upgraded mid-transaction, which SQLite reports
  /// as SQLITE_BUSY without waiting); "BEGIN" for consistent multi-statement reads.
  Transaction(const Context& ctx, const char* begin) : ctx_(ctx) {
    exec(ctx_, begin);
    open_ = true;
  }
  ~Transaction() {
    // Some errors (SQLITE_FULL, IOERR) roll back by themselves; ROLLBACK would then fail.
    if (open_ && !sqlite3_get_autocommit(ctx_.db)) {
      sqlite3_exec(ctx_.db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit() {
    exec(ctx_, "COMMIT");
    open_ = false;
  }

 private:
  const Context& ctx_;
  bool open_ = false;
};

// ---------------------------------------------------------------------------------------
// Opening and migrating.

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

void configureConnection(const Context& ctx) {
  sqlite3_extended_result_codes(ctx.db, 1);
  if (sqlite3_busy_timeout(ctx.db, kBusyTimeoutMs) != SQLITE_OK) throwSqlite(ctx);
  // The first statement reads the file header: a file that is not a database fails here.
  Statement wal(ctx, "PRAGMA journal_mode=WAL");
  const std::string mode = wal.step() ? Row(wal).text() : std::string();
  if (mode != "wal") {
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
  if (found == target) return;  // the transaction rolls back having changed nothing
  for (int version = found; version < target; ++version) exec(ctx, kMigrations[version]);
  // PRAGMA takes no bound parameters; the value is our own integer, not user input.
  exec(ctx, "PRAGMA user_version = " + std::to_string(target));
  transaction.commit();
  log::debug("{}: migrated schema from version {} to {}", ctx.path, found, target);
}

/// Configures the connection and migrates, retrying while another process holds a lock.
/// Switching to WAL, and the first read while another process converts the file or deletes
/// its WAL on close, can report SQLITE_BUSY without consulting the busy handler; several
/// `ferlab run` processes started together hit exactly that, so wait it out here under the
/// same 60 s budget.
void openWithRetry(const Context& ctx) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    try {
      configureConnection(ctx);
      migrate(Context{ctx.db, ctx.path, "migrating the schema"});
      return;
    } catch (const SqliteError& error) {
      if (!error.busy() || Clock::now() + pause > deadline) throw;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

// ---------------------------------------------------------------------------------------
// Reading and writing records.

/// Class counts as stored in epochs.class_counts: "3995,436,4097"; "" for none (NULL).
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

constexpr const char* kSelectParams =
    "SELECT key, value, in_grid FROM params WHERE run_id = ?1 ORDER BY rowid";

std::optional<RunRow> loadRunRow(const Context& ctx, const std::string& id) {
  Statement select(ctx, std::string("SELECT ") + kRunColumns + " FROM runs r WHERE r.id = ?1");
  select.bind(1, id);
  if (!select.step()) return std::nullopt;
  RunRow result = readRunRow(Row(select));
  Statement params(ctx, kSelectParams);
  loadParams(params, result.record);
  return result;
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

}  // namespace

// -----------------------------------------------------------------------------------------

const char* statusName(RunStatus status) {
  switch (status) {
    case RunStatus::Queued:
      return "queued";
    case RunStatus::Running:
      return "running";
    case RunStatus::Finished:
      return "finished";
    case RunStatus::Failed:
      return "failed";
  }
  return "unknown";
}

RunStatus parseStatus(const std::string& name) {
  for (RunStatus status :
       {RunStatus::Queued, RunStatus::Running, RunStatus::Finished, RunStatus::Failed}) {
    if (name == statusName(status)) return status;
  }
  throw StoreError("unknown run status '" + name +
                   "' (expected queued, running, finished or failed)");
}

SqliteStore::SqliteStore(const std::string& path) : path_(path) {
  createParentFolders(path_);
  const int rc =
      sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  // The destructor does not run when the constructor throws, so close here on any failure.
  try {
    const Context ctx{db_, path_, "opening the store"};
    if (rc != SQLITE_OK) {
      if (!db_) throwError(ctx, "out of memory");
      throwSqlite(ctx);
    }
    openWithRetry(ctx);
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteStore::~SqliteStore() {
  sqlite3_close_v2(db_);
}

int SqliteStore::currentSchemaVersion() {
  return static_cast<int>(std::size(kMigrations));
}

int SqliteStore::schemaVersion() const {
  return readUserVersion(Context{db_, path_, "reading the schema version"});
}

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
                   "torch_version, opencv_version, device, dataset_key) "
                   "VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                   "?14)");
  insert.bind(1, run.id).bind(2, run.experiment).bind(3, run.name).bind(4, run.grid_index);
  insert.bind(5, run.config_json).bind(6, run.config_hash).bind(7, run.seed);
  insert.bind(8, run.backbone).bindOptional(9, run.git_commit);
  insert.bindOptional(10, run.ferlab_version).bindOptional(11, run.torch_version);
  insert.bindOptional(12, run.opencv_version).bindOptional(13, run.device);
  insert.bindOptional(14, run.dataset_key).run();
  if (sqlite3_changes(db_) > 0) insertParams(ctx, run);

  std::optional<RunRow> stored = loadRunRow(ctx, run.id);
  transaction.commit();
  return std::move(stored->record);
}

std::optional<RunRecord> SqliteStore::findRun(const std::string& id) const {
  const Context ctx{db_, path_, "reading run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN");
  std::optional<RunRow> row = loadRunRow(ctx, id);
  transaction.commit();
  if (!row) return std::nullopt;
  return std::move(row->record);
}

void SqliteStore::markRunning(const RunRecord& run) {
  const Context ctx{db_, path_, "marking run '" + run.id + "' running"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  // A resumed run keeps its first started_at: it is the same run continued from a checkpoint,
  // and reports show when it began. ended_at and error of an earlier failure are cleared.
  Statement update(ctx,
                   "UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?1), "
                   "ended_at = NULL, error = NULL, git_commit = ?2, ferlab_version = ?3, "
                   "torch_version = ?4, opencv_version = ?5, device = ?6, dataset_key = ?7, "
                   "pretrained = ?9, align_aligned = ?10, align_face_only = ?11, align_none = ?12, "
                   "precision = ?13 WHERE id = ?8");
  update.bind(1, run.started_at.empty() ? core::utcNowIso8601() : run.started_at);
  update.bindOptional(2, run.git_commit).bindOptional(3, run.ferlab_version);
  update.bindOptional(4, run.torch_version).bindOptional(5, run.opencv_version);
  update.bindOptional(6, run.device).bindOptional(7, run.dataset_key).bind(8, run.id);
  update.bindKnown(9, run.pretrained);
  bindCount(update, 10, run.alignment.aligned);
  bindCount(update, 11, run.alignment.face_only);
  bindCount(update, 12, run.alignment.none);
  update.bindOptional(13, run.precision);
  update.run();
  requireRun(ctx, run.id);
  transaction.commit();
}

void SqliteStore::truncateRun(const std::string& id, int epoch) {
  const Context ctx{db_, path_, "truncating run '" + id + "' after epoch " + std::to_string(epoch)};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
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
  Statement update(ctx, std::string("UPDATE runs SET ") + kSummaryAssignments + " WHERE id = ?" +
                            std::to_string(kSummaryParams + 1));
  bindSummary(update, summary);
  update.bind(kSummaryParams + 1, id).run();
  requireRun(ctx, id);
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
  transaction.commit();
}

void SqliteStore::finishRun(
    const std::string& id, const RunSummary& summary, const std::vector<SplitMetrics>& splits,
    const std::vector<std::pair<std::string, std::vector<Prediction>>>& predictions) {
  const Context ctx{db_, path_, "finishing run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  Statement update(ctx, std::string("UPDATE runs SET ") + kSummaryAssignments +
                            ", status = 'finished', error = NULL, ended_at = ?13 WHERE id = ?14");
  bindSummary(update, summary);
  update.bind(13, core::utcNowIso8601()).bind(14, id).run();
  requireRun(ctx, id);
  // Finishing twice (a re-evaluation) replaces the earlier results instead of failing.
  deleteFinalResults(ctx, id);
  for (const SplitMetrics& split : splits) insertSplit(ctx, id, split);

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
  transaction.commit();
}

void SqliteStore::failRun(const std::string& id, const std::string& message) {
  const Context ctx{db_, path_, "marking run '" + id + "' failed"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  Statement update(ctx,
                   "UPDATE runs SET status = 'failed', error = ?1, ended_at = ?2 WHERE id = ?3");
  update.bind(1, message).bind(2, core::utcNowIso8601()).bind(3, id).run();
  requireRun(ctx, id);
  transaction.commit();
}

std::vector<RunRow> SqliteStore::listRuns(const std::string& experiment) const {
  const Context ctx{db_, path_, "listing runs"};
  Transaction transaction(ctx, "BEGIN");
  // Experiments in creation order (rowid breaks ties within one second), runs in grid order.
  Statement select(ctx, std::string("SELECT ") + kRunColumns +
                            " FROM runs r LEFT JOIN experiments e ON e.name = r.experiment "
                            "WHERE ?1 = '' OR r.experiment = ?1 "
                            "ORDER BY e.created_at, e.rowid, r.grid_index, r.id");
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

void SqliteStore::recordPhase(const std::string& id, const PhaseRecord& phase) {
  const Context ctx{db_, path_, "recording phase '" + phase.name + "' of run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  // INSERT ... SELECT touches no row for an unknown run, which requireRun reports.
  Statement insert(ctx,
                   "INSERT OR REPLACE INTO phases (run_id, phase_index, name, first_epoch, epochs, "
                   "trainable_params, total_params) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 "
                   "WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1)");
  insert.bind(1, id).bind(2, phase.index).bind(3, phase.name).bind(4, phase.first_epoch);
  insert.bind(5, phase.epochs).bind(6, phase.trainable_params).bind(7, phase.total_params).run();
  requireRun(ctx, id);
  transaction.commit();
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

}  // namespace ferlab::tracking
