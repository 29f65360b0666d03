// Ensemble runs in the store (schema v7): recordEnsemble writes a finished run of kind
// ensemble with its members and results in one transaction, replaces them when recorded again,
// and never overwrites a training run.

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "framework/core/Errors.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::tracking {
namespace {

namespace fs = std::filesystem;

class EnsembleRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ferlab-ensemble-record-" + std::to_string(std::random_device()()));
    fs::create_directories(dir_);
    store_ = std::make_unique<SqliteStore>((dir_ / "ferlab.db").string());
    store_->ensureExperiment("grid", "experiments/grid.toml", {"train.seed"});
    for (const char* id : {"a00000000001", "a00000000002"}) {
      RunRecord run;
      run.id = id;
      run.experiment = "grid";
      run.name = std::string("grid[") + id + "]";
      run.grid_index = id[11] - '0';
      run.params = {{"train.seed", std::string(1, id[11])}};
      store_->ensureRun(run);
      store_->markRunning(run);
      RunSummary summary;
      summary.test_accuracy = 0.5;
      store_->finishRun(id, summary, {}, {{"PrivateTest", predictions(4, 0)}});
    }
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static std::vector<Prediction> predictions(int count, int predicted) {
    std::vector<Prediction> out;
    for (int i = 0; i < count; ++i) {
      Prediction p;
      p.sample_index = i;
      p.sample_id = "s" + std::to_string(i);
      p.label = i % 2;
      p.predicted = predicted;
      p.probabilities = {predicted == 0 ? 0.75f : 0.25f, predicted == 0 ? 0.25f : 0.75f};
      out.push_back(p);
    }
    return out;
  }

  static SplitMetrics split(const std::string& name, double accuracy) {
    SplitMetrics m;
    m.split = name;
    m.accuracy = accuracy;
    m.loss = 0.5;
    m.classes = {{"a", 0.5, 0.5, 0.5, 2}, {"b", 0.5, 0.5, 0.5, 2}};
    m.confusion = {1, 1, 1, 1};
    return m;
  }

  static RunRecord ensemble(const std::string& id) {
    RunRecord run;
    run.id = id;
    run.kind = RunKind::Ensemble;
    run.experiment = "grid";
    run.name = "ens";
    run.config_json = R"({"ensemble":{"select":"all"}})";
    run.backbone = "ensemble";
    return run;
  }

  fs::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST(RunKindNames, RoundTripAndRejectUnknown) {
  for (RunKind kind : {RunKind::Train, RunKind::Ensemble})
    EXPECT_EQ(parseKind(kindName(kind)), kind);
  EXPECT_STREQ(kindName(RunKind::Ensemble), "ensemble");
  EXPECT_THROW(parseKind("bagging"), StoreError);
}

TEST_F(EnsembleRecordTest, RecordsAFinishedEnsembleWithMembersAndResults) {
  RunSummary summary;
  summary.best_val_accuracy = 0.75;
  summary.test_accuracy = 0.5;
  store_->recordEnsemble(ensemble("e00000000001"), summary,
                         {{"a00000000002", 0.25}, {"a00000000001", 0.75}},
                         {split("PublicTest", 0.75), split("PrivateTest", 0.5)},
                         {{"PublicTest", predictions(4, 1)}, {"PrivateTest", predictions(4, 0)}});
  const RunRow row = store_->getRun("e00000000001");
  EXPECT_EQ(row.record.kind, RunKind::Ensemble);
  EXPECT_EQ(row.record.status, RunStatus::Finished);
  EXPECT_EQ(row.record.config_json, R"({"ensemble":{"select":"all"}})");
  EXPECT_FALSE(row.record.started_at.empty());
  EXPECT_FALSE(row.record.ended_at.empty());
  EXPECT_DOUBLE_EQ(row.summary.best_val_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(row.summary.test_accuracy, 0.5);
  EXPECT_EQ(row.summary.best_epoch, -1);
  EXPECT_TRUE(store_->epochs(row.record.id).empty());
  const auto members = store_->ensembleMembers(row.record.id);
  ASSERT_EQ(members.size(), 2u);  // heaviest first
  EXPECT_EQ(members[0].run_id, "a00000000001");
  EXPECT_DOUBLE_EQ(members[0].weight, 0.75);
  EXPECT_EQ(store_->splitMetrics(row.record.id).size(), 2u);
  EXPECT_EQ(store_->predictions(row.record.id, "PublicTest").size(), 4u);
  EXPECT_TRUE(store_->ensembleMembers("a00000000001").empty());  // a training run has none

  // Listed after the experiment's training runs, whatever its grid index.
  const auto rows = store_->listRuns("grid");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].record.id, "e00000000001");
  EXPECT_EQ(rows[0].record.kind, RunKind::Train);
}

TEST_F(EnsembleRecordTest, RecordingAgainReplacesInsteadOfDuplicating) {
  store_->recordEnsemble(ensemble("e00000000001"), {}, {{"a00000000001", 1.0}},
                         {split("PrivateTest", 0.5)}, {{"PrivateTest", predictions(4, 0)}});
  RunRecord again = ensemble("e00000000001");
  again.name = "renamed";
  RunSummary summary;
  summary.test_accuracy = 0.25;
  store_->recordEnsemble(again, summary, {{"a00000000001", 0.5}, {"a00000000002", 0.5}},
                         {split("PrivateTest", 0.25)}, {{"PrivateTest", predictions(3, 1)}});
  EXPECT_EQ(store_->listRuns("grid").size(), 3u);
  const RunRow row = store_->getRun("e00000000001");
  EXPECT_EQ(row.record.name, "renamed");
  EXPECT_DOUBLE_EQ(row.summary.test_accuracy, 0.25);
  EXPECT_EQ(store_->ensembleMembers(row.record.id).size(), 2u);
  EXPECT_EQ(store_->splitMetrics(row.record.id).size(), 1u);
  EXPECT_EQ(store_->predictions(row.record.id, "PrivateTest").size(), 3u);
  EXPECT_EQ(store_->predictions(row.record.id, "PrivateTest")[0].predicted, 1);
}

TEST_F(EnsembleRecordTest, NeverOverwritesATrainingRunAndRefusesRepeatedMembers) {
  try {
    store_->recordEnsemble(ensemble("a00000000001"), {}, {{"a00000000002", 1.0}}, {}, {});
    FAIL() << "expected StoreError";
  } catch (const StoreError& error) {
    EXPECT_NE(std::string(error.what()).find("not an ensemble"), std::string::npos) << error.what();
  }
  EXPECT_EQ(store_->getRun("a00000000001").record.kind, RunKind::Train);
  EXPECT_EQ(store_->getRun("a00000000001").record.name, "grid[a00000000001]");
  EXPECT_THROW(store_->recordEnsemble(ensemble("e00000000002"), {},
                                      {{"a00000000001", 0.5}, {"a00000000001", 0.5}}, {}, {}),
               StoreError);
  EXPECT_FALSE(store_->findRun("e00000000002"));  // the transaction rolled back
}

TEST_F(EnsembleRecordTest, AnExistingExperimentKeepsItsSourceAndANewOneIsCreated) {
  store_->recordEnsemble(ensemble("e00000000001"), {}, {{"a00000000001", 1.0}}, {}, {});
  RunRecord elsewhere = ensemble("e00000000003");
  elsewhere.experiment = "mixed";
  store_->recordEnsemble(elsewhere, {}, {{"a00000000001", 1.0}}, {}, {});
  EXPECT_EQ(store_->listRuns("mixed").size(), 1u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "ferlab.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT source, grid_keys FROM experiments WHERE name = 'grid'",
                               -1, &select, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(select), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(select, 0)),
               "experiments/grid.toml");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(select, 1)), R"(["train.seed"])");
  sqlite3_finalize(select);
  sqlite3_close(db);
}

}  // namespace
}  // namespace ferlab::tracking
