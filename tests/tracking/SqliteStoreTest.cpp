#include "framework/tracking/SqliteStore.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "framework/core/Errors.h"

namespace ferlab::tracking {
namespace {

namespace fs = std::filesystem;

// Each test gets its own folder, so stores never leak between tests or concurrent runs.
class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ferlab-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "results" / "ferlab.db").string();
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path dir_;
  std::string path_;
};

RunRecord makeRun(const std::string& id, const std::string& experiment, int grid_index) {
  RunRecord run;
  run.id = id;
  run.experiment = experiment;
  run.name = experiment + "[lr=0.01,name=vggnet]";
  run.grid_index = grid_index;
  run.config_json = R"({"model":{"name":"vggnet"},"train":{"lr":0.01}})";
  run.config_hash = "0123456789abcdef";
  run.seed = 42;
  run.backbone = "vggnet";
  run.params = {{"model.name", "vggnet"}, {"train.epochs", "30"}, {"train.lr", "0.01"}};
  run.grid_values = {{"train.lr", "0.01"}, {"model.name", "vggnet"}};
  return run;
}

EpochRecord makeEpoch(int epoch) {
  EpochRecord e;
  e.epoch = epoch;
  e.phase = epoch <= 2 ? "frozen" : "finetune";
  e.train_loss = 1.5 / epoch;
  e.train_accuracy = 0.3 + 0.01 * epoch;
  e.val_loss = 1.6 / epoch;
  e.val_accuracy = 0.25 + 0.01 * epoch;
  e.val_macro_f1 = 0.2 + 0.01 * epoch;
  e.lr = 0.01 / epoch;
  e.images_per_sec = 12000.5 + epoch;
  e.seconds = 3.25;
  return e;
}

RunSummary summaryAfter(int epoch) {
  RunSummary s;
  s.best_epoch = epoch;
  s.best_val_accuracy = 0.25 + 0.01 * epoch;
  s.best_val_macro_f1 = 0.2 + 0.01 * epoch;
  s.best_val_loss = 1.6 / epoch;
  s.last_epoch = epoch;
  s.last_val_accuracy = 0.25 + 0.01 * epoch;
  s.last_train_loss = 1.5 / epoch;
  s.last_train_accuracy = 0.3 + 0.01 * epoch;
  return s;  // test metrics, throughput and duration stay unknown (-1)
}

SplitMetrics makeSplit(const std::string& name, int k) {
  SplitMetrics m;
  m.split = name;
  m.loss = 0.9;
  m.accuracy = 0.71;
  m.macro_f1 = 0.69;
  for (int c = 0; c < k; ++c) {
    m.classes.push_back({"class" + std::to_string(c), 0.5 + 0.01 * c, 0.6, 0.55, 100 + c});
  }
  for (int i = 0; i < k * k; ++i) m.confusion.push_back(i % (k + 1) == 0 ? 50 + i : i % 3);
  return m;
}

std::vector<Prediction> makePredictions(int count, int classes) {
  std::vector<Prediction> result;
  for (int i = 0; i < count; ++i) {
    Prediction p;
    p.sample_index = 28709 + i;
    p.sample_id = "PrivateTest/" + std::to_string(i) + ".png";
    p.label = i % classes;
    p.predicted = (i * 3) % classes;
    for (int c = 0; c < classes; ++c) p.probabilities.push_back(1.0f / (3.0f + i + c));
    result.push_back(std::move(p));
  }
  return result;
}

// What schema v7 (ensembles), v8 (cross-dataset evaluations), v9 (run claims) and v11
// (checkpoint hashes) added: dropped first by the tests that turn a current store back into an
// older one. (v10 only widened a CHECK, which every older row satisfies.)
constexpr const char* kDropV7ToV9 =
    "ALTER TABLE epochs DROP COLUMN checkpoint_hash; "
    "ALTER TABLE runs DROP COLUMN owner_host; ALTER TABLE runs DROP COLUMN owner_pid; "
    "ALTER TABLE runs DROP COLUMN owner_token; ALTER TABLE runs DROP COLUMN heartbeat_at; "
    "DROP TABLE evaluation_predictions; DROP TABLE evaluation_confusion; "
    "DROP TABLE evaluation_classes; DROP TABLE evaluations; DROP TABLE ensemble_members; "
    "ALTER TABLE runs DROP COLUMN kind; ";

std::string queryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
  std::string result;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    result = text ? text : "";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

void expectEpochsEqual(const EpochRecord& a, const EpochRecord& b) {
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.phase, b.phase);
  EXPECT_DOUBLE_EQ(a.train_loss, b.train_loss);
  EXPECT_DOUBLE_EQ(a.train_accuracy, b.train_accuracy);
  EXPECT_DOUBLE_EQ(a.val_loss, b.val_loss);
  EXPECT_DOUBLE_EQ(a.val_accuracy, b.val_accuracy);
  EXPECT_DOUBLE_EQ(a.val_macro_f1, b.val_macro_f1);
  EXPECT_DOUBLE_EQ(a.lr, b.lr);
  EXPECT_DOUBLE_EQ(a.images_per_sec, b.images_per_sec);
  EXPECT_DOUBLE_EQ(a.seconds, b.seconds);
}

/// Everything one `ferlab run` process writes for one run, as the concurrency tests do it.
void recordWholeRun(const std::string& path, int worker, int epochs) {
  SqliteStore store(path);
  store.ensureExperiment("concurrent", "concurrent.toml", {"train.seed"});
  RunRecord run = makeRun("c0ffee00000" + std::to_string(worker), "concurrent", worker);
  store.ensureRun(run);
  store.markRunning(run);
  for (int e = 1; e <= epochs; ++e) store.recordEpoch(run.id, makeEpoch(e), summaryAfter(e));
  store.finishRun(run.id, summaryAfter(epochs), {makeSplit("PrivateTest", 7)},
                  {{"PrivateTest", makePredictions(200, 7)}});
}

TEST(RunStatusNames, RoundTripAndRejectUnknown) {
  for (RunStatus s :
       {RunStatus::Queued, RunStatus::Running, RunStatus::Finished, RunStatus::Failed}) {
    EXPECT_EQ(parseStatus(statusName(s)), s);
  }
  EXPECT_STREQ(statusName(RunStatus::Finished), "finished");
  EXPECT_THROW(parseStatus("done"), StoreError);
}

TEST_F(SqliteStoreTest, CreatesParentFoldersAndSetsSchemaVersion) {
  SqliteStore store(path_);
  EXPECT_TRUE(fs::exists(path_));
  EXPECT_EQ(SqliteStore::currentSchemaVersion(), 11);
  EXPECT_EQ(store.schemaVersion(), SqliteStore::currentSchemaVersion());
  EXPECT_EQ(store.path(), path_);
}

TEST_F(SqliteStoreTest, UsesWriteAheadLog) {
  SqliteStore store(path_);
  // journal_mode=WAL is persistent in the file, so a second connection sees it.
  EXPECT_EQ(queryText(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(queryText(path_, "PRAGMA user_version"), "11");
}

TEST_F(SqliteStoreTest, EachStoreHasItsOwnLastingId) {
  std::string id;
  {
    const SqliteStore store(path_);
    id = store.storeId();
  }
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(SqliteStore(path_).storeId(), id);  // reopening keeps it
  EXPECT_EQ(SqliteStore(path_, OpenMode::ReadOnly).storeId(), id);
  const std::string other = (fs::path(path_).parent_path() / "other.db").string();
  EXPECT_NE(SqliteStore(other).storeId(), id);
}

TEST_F(SqliteStoreTest, RunRecordRoundTripWithParamsAndGridValues) {
  SqliteStore store(path_);
  store.ensureExperiment("quickstart", "experiments/quickstart.toml", {"train.lr", "model.name"});
  const RunRecord run = makeRun("a1b2c3d4e5f6", "quickstart", 3);
  const RunRecord stored = store.ensureRun(run);
  EXPECT_EQ(stored.id, run.id);
  EXPECT_EQ(stored.experiment, run.experiment);
  EXPECT_EQ(stored.name, run.name);
  EXPECT_EQ(stored.status, RunStatus::Queued);
  EXPECT_EQ(stored.grid_index, 3);
  EXPECT_EQ(stored.config_json, run.config_json);
  EXPECT_EQ(stored.config_hash, run.config_hash);
  EXPECT_EQ(stored.seed, 42);
  EXPECT_EQ(stored.backbone, "vggnet");
  EXPECT_EQ(stored.params, run.params);
  EXPECT_EQ(stored.grid_values, run.grid_values);  // grid order, not key order
  EXPECT_TRUE(stored.started_at.empty());
  EXPECT_TRUE(stored.git_commit.empty());

  // Params are real rows, queryable by key.
  EXPECT_EQ(queryText(path_, "SELECT value FROM params WHERE key = 'train.lr'"), "0.01");
  EXPECT_EQ(queryText(path_, "SELECT in_grid FROM params WHERE key = 'model.name'"), "2");

  // An existing run is kept as it is.
  RunRecord changed = run;
  changed.name = "renamed";
  changed.params = {{"x", "1"}};
  const RunRecord again = store.ensureRun(changed);
  EXPECT_EQ(again.name, run.name);
  EXPECT_EQ(again.params, run.params);

  EXPECT_FALSE(store.findRun("ffffffffffff").has_value());
  ASSERT_TRUE(store.findRun(run.id).has_value());
  EXPECT_EQ(store.findRun(run.id)->params, run.params);
}

TEST_F(SqliteStoreTest, MarkRunningRecordsProvenanceAndKeepsFirstStart) {
  SqliteStore store(path_);
  RunRecord run = makeRun("a1b2c3d4e5f6", "quickstart", 0);
  store.ensureRun(run);  // no ensureExperiment: the experiment row is created for it
  run.git_commit = "deadbeef";
  run.ferlab_version = "0.1.0";
  run.torch_version = "2.3.0";
  run.opencv_version = "4.6.0";
  run.device = "cuda:0 NVIDIA H100";
  run.dataset_key = "fer2013-aligned-48";
  run.started_at = "2026-01-01T00:00:00Z";
  run.precision = "bf16";
  store.markRunning(run);
  RunRecord stored = *store.findRun(run.id);
  EXPECT_EQ(stored.status, RunStatus::Running);
  EXPECT_EQ(stored.precision, "bf16");
  EXPECT_EQ(stored.git_commit, "deadbeef");
  EXPECT_EQ(stored.ferlab_version, "0.1.0");
  EXPECT_EQ(stored.torch_version, "2.3.0");
  EXPECT_EQ(stored.opencv_version, "4.6.0");
  EXPECT_EQ(stored.device, "cuda:0 NVIDIA H100");
  EXPECT_EQ(stored.dataset_key, "fer2013-aligned-48");
  EXPECT_EQ(stored.started_at, "2026-01-01T00:00:00Z");

  store.failRun(run.id, "out of memory");
  run.started_at.clear();  // a resumed invocation: start time filled by the store
  run.device = "cpu";
  store.markRunning(run);
  stored = *store.findRun(run.id);
  EXPECT_EQ(stored.status, RunStatus::Running);
  EXPECT_EQ(stored.started_at, "2026-01-01T00:00:00Z");
  EXPECT_EQ(stored.device, "cpu");
  EXPECT_TRUE(stored.error.empty());
  EXPECT_TRUE(stored.ended_at.empty());

  EXPECT_THROW(store.markRunning(makeRun("000000000000", "quickstart", 0)), StoreError);
}

TEST_F(SqliteStoreTest, EpochsAndSummaryRoundTripWithUnknowns) {
  SqliteStore store(path_);
  const RunRecord run = makeRun("a1b2c3d4e5f6", "quickstart", 0);
  store.ensureRun(run);

  RunRow fresh = store.getRun(run.id);
  EXPECT_EQ(fresh.summary.best_epoch, -1);
  EXPECT_EQ(fresh.summary.test_accuracy, -1);

  std::vector<EpochRecord> written;
  for (int e = 1; e <= 4; ++e) {
    written.push_back(makeEpoch(e));
    store.recordEpoch(run.id, written.back(), summaryAfter(e));
  }
  // SQLite stores NaN as NULL; a diverged loss must still read back as NaN.
  EpochRecord diverged = makeEpoch(5);
  diverged.train_loss = std::numeric_limits<double>::quiet_NaN();
  RunSummary summary = summaryAfter(4);
  summary.last_epoch = 5;
  summary.images_per_sec = 15000.25;
  store.recordEpoch(run.id, diverged, summary);

  const std::vector<EpochRecord> read = store.epochs(run.id);
  ASSERT_EQ(read.size(), 5u);
  for (int i = 0; i < 4; ++i) expectEpochsEqual(read[i], written[i]);
  EXPECT_TRUE(std::isnan(read[4].train_loss));
  EXPECT_DOUBLE_EQ(read[4].val_loss, diverged.val_loss);

  const RunSummary s = store.getRun(run.id).summary;
  EXPECT_EQ(s.best_epoch, 4);
  EXPECT_DOUBLE_EQ(s.best_val_accuracy, summary.best_val_accuracy);
  EXPECT_DOUBLE_EQ(s.best_val_macro_f1, summary.best_val_macro_f1);
  EXPECT_DOUBLE_EQ(s.best_val_loss, summary.best_val_loss);
  EXPECT_EQ(s.last_epoch, 5);
  EXPECT_DOUBLE_EQ(s.last_val_accuracy, summary.last_val_accuracy);
  EXPECT_DOUBLE_EQ(s.last_train_loss, summary.last_train_loss);
  EXPECT_DOUBLE_EQ(s.last_train_accuracy, summary.last_train_accuracy);
  EXPECT_DOUBLE_EQ(s.images_per_sec, 15000.25);
  EXPECT_EQ(s.test_accuracy, -1);
  EXPECT_EQ(s.test_macro_f1, -1);
  EXPECT_EQ(s.duration_s, -1);
  // Unknown is NULL in the database, so SQL aggregates skip it.
  EXPECT_EQ(queryText(path_, "SELECT test_accuracy IS NULL FROM runs"), "1");

  EXPECT_THROW(store.recordEpoch("000000000000", makeEpoch(1), summary), StoreError);
}

TEST_F(SqliteStoreTest, FinishRunRoundTripsMetricsConfusionAndPredictions) {
  SqliteStore store(path_);
  const RunRecord run = makeRun("a1b2c3d4e5f6", "quickstart", 0);
  store.ensureRun(run);
  store.markRunning(run);
  store.recordEpoch(run.id, makeEpoch(1), summaryAfter(1));

  RunSummary summary = summaryAfter(1);
  summary.test_accuracy = 0.7312;
  summary.test_macro_f1 = 0.7011;
  summary.duration_s = 1234.5;
  const std::vector<SplitMetrics> splits = {makeSplit("PublicTest", 7),
                                            makeSplit("PrivateTest", 7)};
  std::vector<Prediction> test = makePredictions(7178, 7);
  // Extreme float32 values must survive bit for bit.
  test[0].probabilities = {0.0f,
                           1.0f,
                           std::numeric_limits<float>::denorm_min(),
                           std::numeric_limits<float>::max(),
                           1e-30f,
                           0.1f,
                           0.2f};
  test[1].probabilities.clear();
  const std::vector<Prediction> val = makePredictions(50, 7);

  const auto start = std::chrono::steady_clock::now();
  store.finishRun(run.id, summary, splits, {{"PublicTest", val}, {"PrivateTest", test}});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("finish_run_seconds", std::to_string(seconds));
  EXPECT_LT(seconds, 5.0) << "7,178 predictions should take milliseconds";

  const RunRow row = store.getRun(run.id);
  EXPECT_EQ(row.record.status, RunStatus::Finished);
  EXPECT_FALSE(row.record.ended_at.empty());
  EXPECT_DOUBLE_EQ(row.summary.test_accuracy, 0.7312);
  EXPECT_DOUBLE_EQ(row.summary.test_macro_f1, 0.7011);
  EXPECT_DOUBLE_EQ(row.summary.duration_s, 1234.5);

  const std::vector<SplitMetrics> read = store.splitMetrics(run.id);
  ASSERT_EQ(read.size(), 2u);
  for (std::size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].split, splits[i].split);
    EXPECT_DOUBLE_EQ(read[i].loss, splits[i].loss);
    EXPECT_DOUBLE_EQ(read[i].accuracy, splits[i].accuracy);
    EXPECT_DOUBLE_EQ(read[i].macro_f1, splits[i].macro_f1);
    EXPECT_EQ(read[i].confusion, splits[i].confusion);
    ASSERT_EQ(read[i].classes.size(), splits[i].classes.size());
    for (std::size_t c = 0; c < read[i].classes.size(); ++c) {
      EXPECT_EQ(read[i].classes[c].name, splits[i].classes[c].name);
      EXPECT_DOUBLE_EQ(read[i].classes[c].precision, splits[i].classes[c].precision);
      EXPECT_DOUBLE_EQ(read[i].classes[c].recall, splits[i].classes[c].recall);
      EXPECT_DOUBLE_EQ(read[i].classes[c].f1, splits[i].classes[c].f1);
      EXPECT_EQ(read[i].classes[c].support, splits[i].classes[c].support);
    }
  }

  const std::vector<Prediction> readTest = store.predictions(run.id, "PrivateTest");
  ASSERT_EQ(readTest.size(), test.size());
  for (std::size_t i = 0; i < test.size(); ++i) {
    EXPECT_EQ(readTest[i].sample_index, test[i].sample_index);
    EXPECT_EQ(readTest[i].sample_id, test[i].sample_id);
    EXPECT_EQ(readTest[i].label, test[i].label);
    EXPECT_EQ(readTest[i].predicted, test[i].predicted);
    EXPECT_EQ(readTest[i].probabilities, test[i].probabilities);  // exact float equality
  }
  EXPECT_EQ(store.predictions(run.id, "PublicTest").size(), 50u);
  EXPECT_TRUE(store.predictions(run.id, "Training").empty());

  SplitMetrics bad = makeSplit("PublicTest", 3);
  bad.confusion.pop_back();
  EXPECT_THROW(store.finishRun(run.id, summary, {bad}, {}), StoreError);
  EXPECT_EQ(store.splitMetrics(run.id).size(), 2u) << "a failed write must roll back";
}

TEST_F(SqliteStoreTest, ReopeningKeepsDataWithoutMigratingAgain) {
  const RunRecord run = makeRun("a1b2c3d4e5f6", "quickstart", 0);
  {
    SqliteStore store(path_);
    store.ensureRun(run);
    store.recordEpoch(run.id, makeEpoch(1), summaryAfter(1));
  }
  // Re-running a migration script would fail on CREATE TABLE of existing tables.
  SqliteStore store(path_);
  EXPECT_EQ(store.schemaVersion(), SqliteStore::currentSchemaVersion());
  EXPECT_EQ(store.findRun(run.id)->params, run.params);
  EXPECT_EQ(store.epochs(run.id).size(), 1u);
}

TEST_F(SqliteStoreTest, RecordsAlignmentOutcomesAndEpochClassCounts) {
  RunRecord run = makeRun("a1b2c3d4e5f6", "quickstart", 0);
  SqliteStore store(path_);
  store.ensureRun(run);
  EXPECT_EQ(store.findRun(run.id)->alignment.aligned, -1) << "unknown until the run starts";
  run.alignment = AlignmentCounts{30000, 4000, 1887};
  store.markRunning(run);
  const RunRecord stored = *store.findRun(run.id);
  EXPECT_EQ(stored.alignment.aligned, 30000);
  EXPECT_EQ(stored.alignment.face_only, 4000);
  EXPECT_EQ(stored.alignment.none, 1887);

  EpochRecord first = makeEpoch(1);
  first.class_counts = {3995, 436, 4097, 7215, 4830, 3171, 4965};
  store.recordEpoch(run.id, first, summaryAfter(1));
  store.recordEpoch(run.id, makeEpoch(2), summaryAfter(2));  // counts unknown
  const std::vector<EpochRecord> epochs = store.epochs(run.id);
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[0].class_counts, first.class_counts);
  EXPECT_TRUE(epochs[1].class_counts.empty());
}

// A store written by schema version 1 (no phases table, no pretrained, alignment or precision
// columns) is migrated to the current version on open, keeping its runs and history.
TEST_F(SqliteStoreTest, MigratesVersionOneStoreKeepingItsData) {
  const RunRecord run = makeRun("v1run", "exp", 0);
  {
    SqliteStore store(path_);
    store.ensureRun(run);
    store.recordEpoch(run.id, makeEpoch(1), summaryAfter(1));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         (std::string(kDropV7ToV9) +
                          "DROP TABLE phases; ALTER TABLE runs DROP COLUMN pretrained; "
                          "ALTER TABLE runs DROP COLUMN align_aligned; "
                          "ALTER TABLE runs DROP COLUMN align_face_only; "
                          "ALTER TABLE runs DROP COLUMN align_none; "
                          "ALTER TABLE epochs DROP COLUMN class_counts; "
                          "ALTER TABLE runs DROP COLUMN precision; "
                          "ALTER TABLE runs DROP COLUMN weights_loaded; "
                          "ALTER TABLE runs DROP COLUMN weights_total; "
                          "DROP TABLE store_info; PRAGMA user_version = 1")
                             .c_str(),
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  SqliteStore store(path_);
  EXPECT_EQ(store.schemaVersion(), SqliteStore::currentSchemaVersion());
  EXPECT_EQ(store.epochs(run.id).size(), 1u);
  EXPECT_EQ(store.findRun(run.id)->pretrained, -1);
  EXPECT_EQ(store.findRun(run.id)->precision, "");  // unknown for runs recorded before v4
  store.recordPhase(run.id, PhaseRecord{0, "head", 1, 3, 1000, 5000});
  EXPECT_EQ(store.phases(run.id).size(), 1u);
  EXPECT_EQ(store.storeId().size(), 32u);  // v6 gave the old store an id
}

// Schema v5 added the weight counts: a v4 store (written before them) keeps its runs, reads
// the counts as unknown, and records them once migrated.
TEST_F(SqliteStoreTest, MigratesVersionFourStoreToWeightCounts) {
  RunRecord run = makeRun("v4run", "exp", 0);
  {
    SqliteStore store(path_);
    store.ensureRun(run);
    run.pretrained = 1;
    run.precision = "fp32";
    store.markRunning(run);
    store.recordEpoch(run.id, makeEpoch(1), summaryAfter(1));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         (std::string(kDropV7ToV9) +
                          "ALTER TABLE runs DROP COLUMN weights_loaded; "
                          "ALTER TABLE runs DROP COLUMN weights_total; PRAGMA user_version = 4")
                             .c_str(),
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_EQ(queryText(path_, "PRAGMA user_version"), "4");

  SqliteStore store(path_);
  EXPECT_EQ(store.schemaVersion(), SqliteStore::currentSchemaVersion());
  const RunRecord migrated = *store.findRun(run.id);
  EXPECT_EQ(migrated.pretrained, 1);
  EXPECT_EQ(migrated.precision, "fp32");
  EXPECT_EQ(migrated.weights_loaded, -1);  // unknown for runs recorded before v5
  EXPECT_EQ(migrated.weights_total, -1);
  EXPECT_EQ(store.epochs(run.id).size(), 1u);
  run.weights_loaded = 120;
  run.weights_total = 122;
  store.markRunning(run);
  EXPECT_EQ(store.findRun(run.id)->weights_loaded, 120);
  EXPECT_EQ(store.findRun(run.id)->weights_total, 122);
}

// Schema v7 added run kinds and ensemble members: a v6 store keeps its runs, which read as
// training runs, and records ensembles once migrated.
TEST_F(SqliteStoreTest, MigratesVersionSixStoreToRunKinds) {
  const RunRecord run = makeRun("v6run", "exp", 0);
  std::string store_id;
  {
    SqliteStore store(path_);
    store.ensureRun(run);
    store.markRunning(run);
    store.recordEpoch(run.id, makeEpoch(1), summaryAfter(1));
    store.finishRun(run.id, summaryAfter(1), {makeSplit("PrivateTest", 7)},
                    {{"PrivateTest", makePredictions(20, 7)}});
    store_id = store.storeId();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, (std::string(kDropV7ToV9) + "PRAGMA user_version = 6").c_str(),
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_EQ(queryText(path_, "PRAGMA user_version"), "6");

  SqliteStore store(path_);
  EXPECT_EQ(store.schemaVersion(), SqliteStore::currentSchemaVersion());
  EXPECT_EQ(store.storeId(), store_id);  // v6's identity survives
  const RunRow migrated = store.getRun(run.id);
  EXPECT_EQ(migrated.record.kind, RunKind::Train);
  EXPECT_EQ(migrated.record.status, RunStatus::Finished);
  EXPECT_EQ(store.epochs(run.id).size(), 1u);
  EXPECT_EQ(store.predictions(run.id, "PrivateTest").size(), 20u);
  EXPECT_TRUE(store.ensembleMembers(run.id).empty());
  EXPECT_EQ(queryText(path_, "SELECT kind FROM runs WHERE id = 'v6run'"), "train");

  RunRecord ensemble = makeRun("e6ensemble01", "exp", 0);
  ensemble.kind = RunKind::Ensemble;
  ensemble.params.clear();
  ensemble.grid_values.clear();
  store.recordEnsemble(ensemble, summaryAfter(1), {{run.id, 1.0}}, {makeSplit("PrivateTest", 7)},
                       {{"PrivateTest", makePredictions(20, 7)}});
  EXPECT_EQ(store.getRun(ensemble.id).record.kind, RunKind::Ensemble);
  ASSERT_EQ(store.ensembleMembers(ensemble.id).size(), 1u);
  EXPECT_EQ(store.ensembleMembers(ensemble.id)[0].run_id, run.id);
}

TEST_F(SqliteStoreTest, WeightCountsRoundTripAndUnknownIsNull) {
  SqliteStore store(path_);
  RunRecord run = makeRun("weighted", "exp", 0);
  store.ensureRun(run);
  EXPECT_EQ(store.findRun(run.id)->weights_loaded, -1);
  run.pretrained = 1;
  run.weights_loaded = 318;
  run.weights_total = 318;
  store.markRunning(run);
  const RunRow row = store.getRun("weigh");
  EXPECT_EQ(row.record.pretrained, 1);
  EXPECT_EQ(row.record.weights_loaded, 318);
  EXPECT_EQ(row.record.weights_total, 318);
  run.weights_loaded = run.weights_total = -1;
  store.markRunning(run);
  EXPECT_EQ(queryText(path_, "SELECT weights_loaded IS NULL FROM runs"), "1");
}

TEST_F(SqliteStoreTest, PhasesAndPretrainedRoundTrip) {
  SqliteStore store(path_);
  RunRecord run = makeRun("phased", "exp", 0);
  store.ensureRun(run);
  run.pretrained = 0;
  store.markRunning(run);
  EXPECT_EQ(store.findRun(run.id)->pretrained, 0);
  store.recordPhase(run.id, PhaseRecord{0, "head", 1, 3, 1000, 5000});
  store.recordPhase(run.id, PhaseRecord{1, "fine_tune", 4, 5, 4000, 5000});
  store.recordPhase(run.id, PhaseRecord{1, "fine_tune", 4, 5, 4500, 5000});  // replaced
  const auto phases = store.phases(run.id);
  ASSERT_EQ(phases.size(), 2u);
  EXPECT_EQ(phases[0].name, "head");
  EXPECT_EQ(phases[0].trainable_params, 1000);
  EXPECT_EQ(phases[1].first_epoch, 4);
  EXPECT_EQ(phases[1].epochs, 5);
  EXPECT_EQ(phases[1].trainable_params, 4500);
  EXPECT_EQ(phases[1].total_params, 5000);
  EXPECT_THROW(store.recordPhase("nope", PhaseRecord{}), StoreError);
}

TEST_F(SqliteStoreTest, RefusesStoreFromNewerSchema) {
  { SqliteStore store(path_); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  try {
    SqliteStore store(path_);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteStoreTest, TruncateRunKeepsEarlierEpochsAndClearsFinalResults) {
  SqliteStore store(path_);
  const RunRecord run = makeRun("a1b2c3d4e5f6", "quickstart", 0);
  store.ensureRun(run);
  for (int e = 1; e <= 5; ++e) store.recordEpoch(run.id, makeEpoch(e), summaryAfter(e));
  RunSummary summary = summaryAfter(5);
  summary.test_accuracy = 0.7;
  store.finishRun(run.id, summary, {makeSplit("PrivateTest", 7)},
                  {{"PrivateTest", makePredictions(10, 7)}});

  store.truncateRun(run.id, 3);
  const std::vector<EpochRecord> kept = store.epochs(run.id);
  ASSERT_EQ(kept.size(), 3u);
  expectEpochsEqual(kept.back(), makeEpoch(3));
  EXPECT_TRUE(store.splitMetrics(run.id).empty());
  EXPECT_TRUE(store.predictions(run.id, "PrivateTest").empty());
  const RunSummary s = store.getRun(run.id).summary;
  EXPECT_EQ(s.test_accuracy, -1);
  EXPECT_EQ(s.last_epoch, 3);
  EXPECT_DOUBLE_EQ(s.last_train_loss, makeEpoch(3).train_loss);
  EXPECT_EQ(s.best_epoch, -1) << "the best epoch (5) was removed";

  // The resumed run records epoch 4 again without conflicts.
  store.recordEpoch(run.id, makeEpoch(4), summaryAfter(4));
  EXPECT_EQ(store.epochs(run.id).size(), 4u);
  EXPECT_THROW(store.truncateRun("000000000000", 1), StoreError);
}

TEST_F(SqliteStoreTest, FailRunKeepsHistory) {
  SqliteStore store(path_);
  const RunRecord run = makeRun("a1b2c3d4e5f6", "quickstart", 0);
  store.ensureRun(run);
  store.markRunning(run);
  for (int e = 1; e <= 3; ++e) store.recordEpoch(run.id, makeEpoch(e), summaryAfter(e));
  store.failRun(run.id, "CUDA out of memory");
  const RunRow row = store.getRun(run.id);
  EXPECT_EQ(row.record.status, RunStatus::Failed);
  EXPECT_EQ(row.record.error, "CUDA out of memory");
  EXPECT_FALSE(row.record.ended_at.empty());
  EXPECT_EQ(row.summary.last_epoch, 3);
  EXPECT_EQ(store.epochs(run.id).size(), 3u);
  EXPECT_THROW(store.failRun("000000000000", "x"), StoreError);
}

TEST_F(SqliteStoreTest, GetRunMatchesExactIdOrUniquePrefix) {
  SqliteStore store(path_);
  store.ensureRun(makeRun("abc123000000", "quickstart", 0));
  store.ensureRun(makeRun("abd456000000", "quickstart", 1));
  store.ensureRun(makeRun("abc", "quickstart", 2));  // an id that prefixes another id

  EXPECT_EQ(store.getRun("abd").record.id, "abd456000000");
  EXPECT_EQ(store.getRun("abc1").record.id, "abc123000000");
  EXPECT_EQ(store.getRun("abc").record.id, "abc") << "an exact id wins over a prefix";

  try {
    store.getRun("ab");
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("ambiguous"), std::string::npos) << message;
    EXPECT_NE(message.find("abc123000000"), std::string::npos) << message;
    EXPECT_NE(message.find("abd456000000"), std::string::npos) << message;
  }
  try {
    store.getRun("zz");
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("no run matches 'zz'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(store.getRun("a%"), StoreError) << "no LIKE wildcards";
  EXPECT_THROW(store.getRun("a_c"), StoreError) << "no LIKE wildcards";
}

TEST_F(SqliteStoreTest, ListRunsFiltersByExperimentInCreationAndGridOrder) {
  SqliteStore store(path_);
  store.ensureExperiment("zeta", "zeta.toml", {"train.lr"});
  store.ensureExperiment("alpha", "alpha.toml", {"train.lr"});
  // Inserted out of grid order on purpose.
  store.ensureRun(makeRun("a00000000002", "alpha", 2));
  store.ensureRun(makeRun("a00000000000", "alpha", 0));
  store.ensureRun(makeRun("f00000000001", "zeta", 1));
  store.ensureRun(makeRun("f00000000000", "zeta", 0));
  store.ensureRun(makeRun("a00000000001", "alpha", 1));

  std::vector<std::string> ids;
  for (const RunRow& row : store.listRuns()) ids.push_back(row.record.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"f00000000000", "f00000000001", "a00000000000",
                                           "a00000000001", "a00000000002"}));

  const std::vector<RunRow> alpha = store.listRuns("alpha");
  ASSERT_EQ(alpha.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(alpha[i].record.experiment, "alpha");
    EXPECT_EQ(alpha[i].record.grid_index, i);
    EXPECT_EQ(alpha[i].record.grid_values, makeRun("", "", 0).grid_values);
  }
  EXPECT_TRUE(store.listRuns("missing").empty());
}

TEST_F(SqliteStoreTest, ConcurrentProcessesRecordWithoutLockErrors) {
  constexpr int kWriters = 4;
  constexpr int kEpochs = 50;
  // Separate processes opening a store that does not exist yet: they race on creation,
  // WAL conversion and migration, then on every epoch commit.
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      try {
        recordWholeRun(path_, w, kEpochs);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", w, e.what());
        code = 1;
      }
      _exit(code);  // never return into gtest in the child
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a writer failed";
  }

  SqliteStore store(path_);
  EXPECT_EQ(store.schemaVersion(), SqliteStore::currentSchemaVersion());
  EXPECT_EQ(queryText(path_, "SELECT count(*) FROM epochs"), std::to_string(kWriters * kEpochs));
  const std::vector<RunRow> runs = store.listRuns("concurrent");
  ASSERT_EQ(runs.size(), static_cast<std::size_t>(kWriters));
  for (const RunRow& row : runs) {
    EXPECT_EQ(row.record.status, RunStatus::Finished);
    EXPECT_EQ(store.epochs(row.record.id).size(), static_cast<std::size_t>(kEpochs));
    EXPECT_EQ(store.predictions(row.record.id, "PrivateTest").size(), 200u);
  }
}

TEST_F(SqliteStoreTest, ConcurrentThreadsWithSeparateStoresRecordWithoutLockErrors) {
  constexpr int kWriters = 4;
  constexpr int kEpochs = 50;
  std::vector<std::string> errors(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      try {
        recordWholeRun(path_, w, kEpochs);
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& error : errors) EXPECT_EQ(error, "");
  EXPECT_EQ(queryText(path_, "SELECT count(*) FROM epochs"), std::to_string(kWriters * kEpochs));
}

TEST_F(SqliteStoreTest, UnwritableLocationNamesThePath) {
  // A regular file where a parent folder should be: fails even when running as root.
  const fs::path blocker = dir_ / "not-a-folder";
  std::ofstream(blocker) << "x";
  const std::string path = (blocker / "sub" / "ferlab.db").string();
  try {
    SqliteStore store(path);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST_F(SqliteStoreTest, FileThatIsNotADatabaseNamesThePath) {
  const std::string path = (dir_ / "notes.db").string();
  std::ofstream(path) << std::string(4096, 'z');
  try {
    SqliteStore store(path);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
    EXPECT_NE(message.find("not a database"), std::string::npos) << message;
  }
}

// --- OpenMode::ReadOnly -------------------------------------------------------------------
// The read-only directory itself is tested through the binary (tests/cli/ReadOnlyStoreTest).

TEST_F(SqliteStoreTest, ReadOnlyOpenOfAMissingStoreCreatesNothing) {
  try {
    SqliteStore store(path_, OpenMode::ReadOnly);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path_ + ": no tracking store here", 0), 0u) << message;
    EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
  }
  EXPECT_FALSE(fs::exists(fs::path(path_).parent_path()));  // not even the folder
}

TEST_F(SqliteStoreTest, ReadOnlyReadsEverythingAndRefusesWrites) {
  const RunRecord run = makeRun("readme", "exp", 0);
  {
    SqliteStore store(path_);
    store.ensureRun(run);
    store.recordEpoch(run.id, makeEpoch(1), summaryAfter(1));
  }
  ::chmod(path_.c_str(), 0444);  // not enforced for root: the open mode is what is tested
  const SqliteStore store(path_, OpenMode::ReadOnly);
  EXPECT_TRUE(store.readOnly());
  EXPECT_EQ(store.schemaVersion(), SqliteStore::currentSchemaVersion());
  EXPECT_EQ(store.listRuns().size(), 1u);
  EXPECT_EQ(store.getRun("read").record.id, run.id);
  EXPECT_EQ(store.epochs(run.id).size(), 1u);
  SqliteStore& writable = const_cast<SqliteStore&>(store);
  try {
    writable.failRun(run.id, "no");
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("readonly"), std::string::npos) << e.what();
  }
  ::chmod(path_.c_str(), 0644);
}

TEST_F(SqliteStoreTest, ReadOnlyOpenRejectsFilesThatAreNoStore) {
  fs::create_directories(dir_ / "results");
  std::ofstream(path_) << "";  // empty: SQLite would make it a database
  EXPECT_THROW(SqliteStore(path_, OpenMode::ReadOnly), StoreError);
  EXPECT_EQ(fs::file_size(path_), 0u);
  std::ofstream(path_) << std::string(4096, 'z');
  EXPECT_THROW(SqliteStore(path_, OpenMode::ReadOnly), StoreError);
  EXPECT_THROW(SqliteStore(dir_.string(), OpenMode::ReadOnly), StoreError);  // a folder
}

TEST_F(SqliteStoreTest, ReadOnlyOpenMigratesAnOlderWritableStoreFirst) {
  { SqliteStore store(path_); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         (std::string(kDropV7ToV9) +
                          "ALTER TABLE runs DROP COLUMN weights_loaded; "
                          "ALTER TABLE runs DROP COLUMN weights_total; PRAGMA user_version = 4")
                             .c_str(),
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const SqliteStore store(path_, OpenMode::ReadOnly);
  EXPECT_EQ(store.schemaVersion(), SqliteStore::currentSchemaVersion());
  EXPECT_TRUE(store.listRuns().empty());
}

TEST_F(SqliteStoreTest, ReadOnlyOpenRefusesNewerSchema) {
  { SqliteStore store(path_); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  try {
    SqliteStore store(path_, OpenMode::ReadOnly);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ferlab::tracking
