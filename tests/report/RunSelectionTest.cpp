#include "framework/report/RunSelection.h"

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "framework/core/Errors.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::report {
namespace {

namespace fs = std::filesystem;

class RunSelectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() / ("ferlab-selection-test-" + std::to_string(random()));
    fs::create_directories(dir_);
    store_ = std::make_unique<tracking::SqliteStore>((dir_ / "ferlab.db").string());
    store_->ensureExperiment("b-grid", "b.toml", {"train.lr"});
    add("b00000000001", "b-grid", "0.001", 0);
    add("b00000000002", "b-grid", "0.01", 1);
    store_->ensureExperiment("a-grid", "a.toml", {"train.lr"});
    add("a00000000001", "a-grid", "0.001", 0);
    store_->failRun("a00000000001", "diverged");
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void add(const std::string& id, const std::string& experiment, const std::string& lr,
           int grid_index) {
    tracking::RunRecord run;
    run.id = id;
    run.experiment = experiment;
    run.name = experiment + "[lr=" + lr + "]";
    run.grid_index = grid_index;
    run.config_json = "{}";
    run.config_hash = id;
    run.backbone = "vggnet";
    run.params = {{"model.name", "vggnet"}, {"train.lr", lr}};
    store_->ensureRun(run);
    store_->markRunning(run);
  }

  std::vector<std::string> ids(const RunSelection& selection) const {
    std::vector<std::string> result;
    for (const auto& row : selectRuns(*store_, selection)) result.push_back(row.record.id);
    return result;
  }

  fs::path dir_;
  std::unique_ptr<tracking::SqliteStore> store_;
};

using Ids = std::vector<std::string>;

TEST_F(RunSelectionTest, EmptySelectionIsEveryRunInStoreOrder) {
  // Experiments in creation order, runs in grid order.
  EXPECT_EQ(ids({}), (Ids{"b00000000001", "b00000000002", "a00000000001"}));
}

TEST_F(RunSelectionTest, CriteriaCombineWithAnd) {
  EXPECT_EQ(ids({{"a-grid"}, {}, {}}), (Ids{"a00000000001"}));
  EXPECT_EQ(ids({{"a-grid", "b-grid"}, {}, {}}).size(), 3u);
  EXPECT_EQ(ids({{}, {}, {{"train.lr", "0.001"}}}), (Ids{"b00000000001", "a00000000001"}));
  EXPECT_EQ(ids({{}, {}, {{"train.lr", "1e-3"}, {"status", "failed"}}}), (Ids{"a00000000001"}));
  EXPECT_EQ(ids({{}, {}, {{"status", "running"}}}), (Ids{"b00000000001", "b00000000002"}));
  EXPECT_EQ(ids({{"b-grid"}, {"a0"}, {}}), Ids{});  // id outside the experiment
  EXPECT_EQ(ids({{}, {"b00000000002", "a0"}, {}}), (Ids{"b00000000002", "a00000000001"}));
  EXPECT_EQ(ids({{}, {}, {{"model.name", "vggnet"}, {"backbone", "vggnet"}}}).size(), 3u);
  EXPECT_EQ(ids({{}, {}, {{"no.such.key", "1"}}}), Ids{});  // unknown key matches nothing
  EXPECT_EQ(ids({{"c-grid"}, {}, {}}), Ids{});
}

TEST_F(RunSelectionTest, UnknownOrAmbiguousRunIdThrowsStoreError) {
  EXPECT_THROW(ids({{}, {"ffff"}, {}}), StoreError);
  EXPECT_THROW(ids({{}, {"b0"}, {}}), StoreError);  // two runs start with it
}

TEST(ParseWhereTest, SplitsAtTheFirstEqualsSign) {
  EXPECT_EQ(parseWhere("train.lr=0.001"),
            std::make_pair(std::string("train.lr"), std::string("0.001")));
  EXPECT_EQ(parseWhere(" data.path = a=b "),
            std::make_pair(std::string("data.path"), std::string("a=b")));
  EXPECT_EQ(parseWhere("name="), std::make_pair(std::string("name"), std::string()));
  EXPECT_THROW(parseWhere("train.lr"), UsageError);
  EXPECT_THROW(parseWhere("=3"), UsageError);
  try {
    parseWhere("oops");
    FAIL() << "no exception";
  } catch (const UsageError& error) {
    EXPECT_NE(std::string(error.what()).find("'oops'"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace ferlab::report
