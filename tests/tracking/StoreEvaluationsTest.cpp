// Cross-dataset evaluations in the store (schema v8): a full round trip, re-evaluation of the
// same run, content and class map replacing the earlier row (idempotent), another map or
// content adding one, shape checks, cascading deletes; and the ensemble tables of schema v7
// that `ferlab evaluate --ensemble` reads.

#include "framework/tracking/SqliteStore.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "framework/core/Errors.h"

namespace ferlab::tracking {
namespace {

namespace fs = std::filesystem;

class StoreEvaluationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ferlab-evaluations-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "ferlab.db").string();
    SqliteStore store(path_);
    RunRecord run;
    run.id = "a1b2c3d4e5f6";
    run.experiment = "tiny";
    run.name = "tiny[seed=1]";
    store.ensureRun(run);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  fs::path dir_;
  std::string path_;
};

// A dataset with classes angry (0) and happy (3) of the model's 7, 3 samples.
EvaluationRecord makeEvaluation(const std::string& class_map) {
  EvaluationRecord e;
  e.run_id = "a1b2c3d4e5f6";
  e.dataset = "ckplus";
  e.dataset_path = "/data/ckplus";
  e.format = "folder";
  e.content_hash = "0123456789abcdef";
  e.class_map = class_map;
  e.class_names = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};
  e.classes = {0, 3};
  e.images = 3;
  e.dropped_images = 2;
  e.accuracy = 1.0 / 3.0;
  e.restricted_accuracy = 2.0 / 3.0;
  e.macro_f1 = 0.4;
  e.class_metrics = {{"angry", 0.5, 1.0, 2.0 / 3.0, 1}, {"happy", 0.0, 0.0, 0.0, 2}};
  e.confusion = {1, 0, 0, 0, 0, 0, 0,  //
                 1, 0, 0, 0, 0, 1, 0};
  e.alignment = {2, 1, 0};
  for (int i = 0; i < 3; ++i) {
    EvaluationPrediction p;
    p.sample_id = "happy/" + std::to_string(i) + ".png";
    p.label = i == 0 ? 0 : 3;
    p.predicted = i == 2 ? 5 : 0;
    p.restricted = i == 0 ? 0 : 3;
    for (int c = 0; c < 7; ++c) p.probabilities.push_back(0.1f * c + 0.01f * i);
    e.predictions.push_back(std::move(p));
  }
  return e;
}

constexpr const char* kMap = R"({"anger":"angry","contempt":null,"happy":"happy"})";

TEST_F(StoreEvaluationsTest, RoundTripsEveryField) {
  SqliteStore store(path_);
  const EvaluationRecord written = makeEvaluation(kMap);
  EXPECT_FALSE(store.recordEvaluation(written));
  const auto without = store.evaluations(written.run_id);
  ASSERT_EQ(without.size(), 1u);
  EXPECT_TRUE(without[0].predictions.empty());
  const auto read = store.evaluations(written.run_id, true);
  ASSERT_EQ(read.size(), 1u);
  const EvaluationRecord& e = read[0];
  EXPECT_EQ(e.dataset, "ckplus");
  EXPECT_EQ(e.dataset_path, "/data/ckplus");
  EXPECT_EQ(e.format, "folder");
  EXPECT_EQ(e.content_hash, written.content_hash);
  EXPECT_EQ(e.class_map, kMap);
  EXPECT_EQ(e.class_names, written.class_names);
  EXPECT_EQ(e.classes, written.classes);
  EXPECT_EQ(e.images, 3);
  EXPECT_EQ(e.dropped_images, 2);
  EXPECT_DOUBLE_EQ(e.accuracy, written.accuracy);
  EXPECT_DOUBLE_EQ(e.restricted_accuracy, written.restricted_accuracy);
  EXPECT_DOUBLE_EQ(e.macro_f1, 0.4);
  ASSERT_EQ(e.class_metrics.size(), 2u);
  EXPECT_EQ(e.class_metrics[1].name, "happy");
  EXPECT_DOUBLE_EQ(e.class_metrics[0].f1, 2.0 / 3.0);
  EXPECT_EQ(e.class_metrics[1].support, 2);
  EXPECT_EQ(e.confusion, written.confusion);
  EXPECT_EQ(e.alignment.aligned, 2);
  EXPECT_EQ(e.alignment.none, 0);
  EXPECT_FALSE(e.evaluated_at.empty());
  ASSERT_EQ(e.predictions.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(e.predictions[i].sample_id, written.predictions[i].sample_id);
    EXPECT_EQ(e.predictions[i].label, written.predictions[i].label);
    EXPECT_EQ(e.predictions[i].predicted, written.predictions[i].predicted);
    EXPECT_EQ(e.predictions[i].restricted, written.predictions[i].restricted);
    EXPECT_EQ(e.predictions[i].probabilities, written.predictions[i].probabilities);
  }
}

TEST_F(StoreEvaluationsTest, SameContentAndMapReplacesOtherwiseAdds) {
  SqliteStore store(path_);
  EvaluationRecord e = makeEvaluation(kMap);
  EXPECT_FALSE(store.recordEvaluation(e));
  e.accuracy = 0.5;
  EXPECT_TRUE(store.recordEvaluation(e));  // the same data and map again: replaced
  auto stored = store.evaluations(e.run_id, true);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_DOUBLE_EQ(stored[0].accuracy, 0.5);
  EXPECT_EQ(stored[0].predictions.size(), 3u);  // not 6: the old samples went with it

  EvaluationRecord other_map = makeEvaluation(R"({"anger":"angry","contempt":"neutral"})");
  EXPECT_FALSE(store.recordEvaluation(other_map));
  EvaluationRecord other_content = makeEvaluation(kMap);
  other_content.content_hash = "fedcba9876543210";
  EXPECT_FALSE(store.recordEvaluation(other_content));
  EXPECT_EQ(store.evaluations(e.run_id).size(), 3u);
  // Read-only readers see them too.
  EXPECT_EQ(SqliteStore(path_, OpenMode::ReadOnly).evaluations(e.run_id).size(), 3u);
}

TEST_F(StoreEvaluationsTest, RejectsUnknownRunsAndShapesThatDoNotFit) {
  SqliteStore store(path_);
  EvaluationRecord unknown = makeEvaluation(kMap);
  unknown.run_id = "ffffffffffff";
  EXPECT_THROW(store.recordEvaluation(unknown), StoreError);
  EvaluationRecord confusion = makeEvaluation(kMap);
  confusion.confusion.pop_back();
  EXPECT_THROW(store.recordEvaluation(confusion), StoreError);
  EvaluationRecord classes = makeEvaluation(kMap);
  classes.class_metrics.pop_back();
  EXPECT_THROW(store.recordEvaluation(classes), StoreError);
  EvaluationRecord probabilities = makeEvaluation(kMap);
  probabilities.predictions[1].probabilities.pop_back();
  EXPECT_THROW(store.recordEvaluation(probabilities), StoreError);
  EXPECT_TRUE(store.evaluations("a1b2c3d4e5f6").empty());
}

TEST_F(StoreEvaluationsTest, UnknownAlignmentIsNullAndReadsBackUnknown) {
  SqliteStore store(path_);
  EvaluationRecord e = makeEvaluation(kMap);
  e.alignment = {};
  store.recordEvaluation(e);
  EXPECT_EQ(store.evaluations(e.run_id)[0].alignment.aligned, -1);
}

TEST_F(StoreEvaluationsTest, EnsembleMembersAndLookupByNameOrId) {
  exec(
      "INSERT INTO runs (id, experiment, name, kind) VALUES ('e0e0e0e0e0e0', 'tiny', "
      "'tiny-ensemble', 'ensemble');"
      "INSERT INTO ensemble_members VALUES ('e0e0e0e0e0e0', 'a1b2c3d4e5f6', 0.75);"
      "INSERT INTO ensemble_members VALUES ('e0e0e0e0e0e0', '0b0b0b0b0b0b', 0.25);");
  const SqliteStore store(path_);
  EXPECT_EQ(store.findEnsembleRun("tiny-ensemble"), "e0e0e0e0e0e0");
  EXPECT_EQ(store.findEnsembleRun("e0e0"), "e0e0e0e0e0e0");
  EXPECT_THROW(store.findEnsembleRun("a1b2c3d4e5f6"), StoreError);  // a trained run
  EXPECT_THROW(store.findEnsembleRun("nope"), StoreError);
  const auto members = store.ensembleMembers("e0e0e0e0e0e0");  // heaviest first
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].run_id, "a1b2c3d4e5f6");
  EXPECT_DOUBLE_EQ(members[0].weight, 0.75);
  EXPECT_EQ(members[1].run_id, "0b0b0b0b0b0b");
  EXPECT_TRUE(store.ensembleMembers("a1b2c3d4e5f6").empty());
  // Trained runs are of kind 'train' by default.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "SELECT kind FROM runs WHERE id = 'a1b2c3d4e5f6'", -1, &stmt, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "train");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(StoreEvaluationsTest, DeletingARunDeletesItsEvaluations) {
  {
    SqliteStore store(path_);
    store.recordEvaluation(makeEvaluation(kMap));
  }
  exec("PRAGMA foreign_keys = ON; DELETE FROM runs WHERE id = 'a1b2c3d4e5f6';");
  exec(
      "PRAGMA foreign_keys = ON; INSERT INTO runs (id, experiment, name) VALUES "
      "('a1b2c3d4e5f6', 'tiny', 'again');");
  EXPECT_TRUE(SqliteStore(path_).evaluations("a1b2c3d4e5f6").empty());
}

}  // namespace
}  // namespace ferlab::tracking
