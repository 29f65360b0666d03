// The reproduction ledger from a real store: runs of an experiment with a [reference], their
// PrivateTest predictions, and the claimed-vs-obtained numbers computed from them.

#include "framework/report/Ledger.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "framework/config/ConfigLoader.h"

namespace ferlab::report {
namespace {

namespace fs = std::filesystem;

constexpr int kTestImages = 200;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ferlab-ledger-" + std::to_string(std::random_device()()));
    fs::create_directories(dir_);
    store_ = std::make_unique<tracking::SqliteStore>((dir_ / "ferlab.db").string());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  /// Records every run of `toml` (an experiment file's text) as finished; run i gets `right[i]`
  /// of the kTestImages PrivateTest images right (the first ones).
  void record(const std::string& toml, const std::vector<int>& right) {
    const auto grid = config::parseExperiment(toml, "exp.toml");
    store_->ensureExperiment(grid.name, grid.source, grid.grid_keys);
    for (std::size_t i = 0; i < grid.runs.size(); ++i) {
      const auto& run = grid.runs[i];
      tracking::RunRecord record;
      record.id = grid.name.substr(0, 4) + std::to_string(i);
      record.experiment = grid.name;
      record.name = run.name;
      record.config_json = run.resolved_json;
      record.config_hash = run.config_hash;
      store_->ensureRun(record);
      store_->markRunning(record);
      if (i >= right.size()) continue;  // left running: counted, not averaged
      std::vector<tracking::Prediction> predictions;
      for (int s = 0; s < kTestImages; ++s) {
        tracking::Prediction p;
        p.sample_index = s;
        p.sample_id = "test/" + std::to_string(s);
        p.label = s % 7;
        p.predicted = s < right[i] ? p.label : (p.label + 1) % 7;
        p.probabilities.assign(7, 1.0f / 7);
        predictions.push_back(p);
      }
      tracking::RunSummary summary;
      summary.best_epoch = summary.last_epoch = 1;
      summary.test_accuracy = right[i] / static_cast<double>(kTestImages);
      store_->finishRun(record.id, summary, {}, {{"PrivateTest", predictions}});
    }
  }

  fs::path dir_;
  std::unique_ptr<tracking::SqliteStore> store_;
};

constexpr const char* kClaim62 = R"(name = "custom"
[train]
epochs = 5
[reference]
source = "seed 000"
claimed = 0.62
protocol = "their test split"
differences = ["we select on PublicTest"]
epochs = 50
[grid]
"train.seed" = [1, 2, 3]
)";

TEST_F(LedgerTest, MeanSdIntervalAndVerdictFromTheStoredPredictions) {
  record(kClaim62, {120, 124, 128});  // 60%, 62%, 64%
  record("name = \"plain\"", {100});  // no reference: not in the ledger
  const auto ledger = buildLedger(*store_, 1000, 7);
  ASSERT_EQ(ledger.size(), 1u);
  const LedgerEntry& entry = ledger[0];
  EXPECT_EQ(entry.experiment, "custom");
  EXPECT_EQ(entry.source, "seed 000");
  EXPECT_EQ(entry.runs, 3);
  EXPECT_EQ(entry.finished, 3);
  EXPECT_NEAR(entry.test_accuracy.mean, 0.62, 1e-12);
  EXPECT_NEAR(entry.test_accuracy.std, 0.02, 1e-12);
  ASSERT_TRUE(entry.has_interval);
  EXPECT_NEAR(entry.mean_interval.estimate, 0.62, 1e-12);
  EXPECT_LT(entry.mean_interval.low, 0.62);
  EXPECT_GT(entry.mean_interval.high, 0.62);
  EXPECT_GT(entry.mean_interval.low, 0.5);  // 200 images: a few points wide, not more
  EXPECT_EQ(entry.verdict, Verdict::Reproduced);
  EXPECT_TRUE(entry.partial);  // 5 of their 50 epochs
  EXPECT_EQ(entry.epochs, 5);
  EXPECT_FALSE(entry.thinned);
  EXPECT_FALSE(entry.random_init);

  const std::string table = ledgerMarkdown(ledger);
  EXPECT_NE(table.find("| `custom` | seed 000 | 62.00% | 62.00% ± 2.00% (3 of 3) |"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("partial: 5 of their 50 epochs; we select on PublicTest"), std::string::npos)
      << table;
}

TEST_F(LedgerTest, VerdictsBelowAboveNoClaimAndNotRun) {
  record(R"(name = "below"
[reference]
source = "s"
claimed = 0.7
)",
         {100});  // 50%
  record(R"(name = "above"
[reference]
source = "s"
claimed = 0.313
)",
         {100});
  record(R"(name = "noclaim"
[reference]
source = "s"
)",
         {100});
  record(R"(name = "pending"
[reference]
source = "s"
claimed = 0.5
[data]
eval_subset = 0.5
)",
         {});
  const auto ledger = buildLedger(*store_, 1000, 1);
  ASSERT_EQ(ledger.size(), 4u);  // by experiment name
  EXPECT_EQ(ledger[0].experiment, "above");
  EXPECT_EQ(ledger[0].verdict, Verdict::Above);
  EXPECT_EQ(ledger[1].verdict, Verdict::Below);
  EXPECT_EQ(ledger[2].verdict, Verdict::NoClaim);
  EXPECT_EQ(ledger[3].verdict, Verdict::NoRuns);
  EXPECT_EQ(ledger[3].finished, 0);
  EXPECT_FALSE(ledger[3].has_interval);
  EXPECT_STREQ(verdictName(Verdict::NoRuns), "not run yet");
}

TEST_F(LedgerTest, DeclaredReferencesWithoutRunsAreListedOnce) {
  record(kClaim62, {124});
  const auto declared = {config::parseExperiment(kClaim62, "custom.toml"),
                         config::parseExperiment(R"(name = "khaireddin"
[train]
epochs = 30
[reference]
source = "Khaireddin & Chen 2021"
claimed = 0.7328
epochs = 300
)",
                                                 "khaireddin.toml"),
                         config::parseExperiment("name = \"plain\"", "plain.toml")};
  const auto ledger = withDeclared(buildLedger(*store_, 1000, 1), declared);
  ASSERT_EQ(ledger.size(), 2u);  // custom (recorded, not repeated), khaireddin; plain has none
  EXPECT_EQ(ledger[0].experiment, "custom");
  EXPECT_EQ(ledger[0].finished, 1);
  EXPECT_EQ(ledger[1].experiment, "khaireddin");
  EXPECT_EQ(ledger[1].verdict, Verdict::NoRuns);
  EXPECT_EQ(ledger[1].runs, 1);
  EXPECT_TRUE(ledger[1].partial);
  EXPECT_NE(
      ledgerMarkdown(ledger).find("| 73.28% | - | - | not run yet | partial: 30 of their 300"),
      std::string::npos)
      << ledgerMarkdown(ledger);
}

// transfer_frozen's shape: one experiment, a grid over backbones and seeds. Each backbone is
// a reproduction of its own, its seeds averaged; a declared backbone without runs is listed.
constexpr const char* kTwoBackbones = R"(name = "frozen"
[model]
input_size = 32
[reference]
source = "seed 002"
[grid]
"model.name" = ["vgg16", "resnet18"]
"train.seed" = [1, 2]
)";

TEST_F(LedgerTest, EachRecipeOfAnExperimentIsARowOfItsOwn) {
  // Grid order: (vgg16, 1), (vgg16, 2), (resnet18, 1), (resnet18, 2); the last stays running.
  record(kTwoBackbones, {100, 110, 160});
  const auto ledger = buildLedger(*store_, 1000, 1);
  ASSERT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger[0].variant, "model.name=resnet18");
  EXPECT_EQ(ledger[0].runs, 2);
  EXPECT_EQ(ledger[0].finished, 1);
  EXPECT_NEAR(ledger[0].test_accuracy.mean, 0.80, 1e-12);
  EXPECT_TRUE(ledger[0].random_init);
  EXPECT_EQ(ledger[1].variant, "model.name=vgg16");
  EXPECT_EQ(ledger[1].finished, 2);
  EXPECT_NEAR(ledger[1].test_accuracy.mean, 0.525, 1e-12);
  const std::string table = ledgerMarkdown(ledger);
  EXPECT_NE(table.find("| `frozen` (model.name=vgg16) | seed 002 | - | 52.50% ± 3.54% (2 of 2) |"),
            std::string::npos)
      << table;

  // Declared with a third backbone: it is listed as not run yet; the recorded two are not
  // repeated, and a reworded [reference] still matches them.
  std::string declared = kTwoBackbones;
  declared.replace(declared.find("\"resnet18\"]"), 11, "\"resnet18\", \"resnet50\"]");
  declared.replace(declared.find("seed 002"), 8, "seed 002, reworded");
  const auto listed =
      withDeclared(buildLedger(*store_, 1000, 1), {config::parseExperiment(declared, "f.toml")});
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].variant, "model.name=resnet18");
  EXPECT_EQ(listed[1].variant, "model.name=resnet50");
  EXPECT_EQ(listed[1].verdict, Verdict::NoRuns);
  EXPECT_EQ(listed[1].runs, 2);  // its two planned seeds
  EXPECT_EQ(listed[2].variant, "model.name=vgg16");
  EXPECT_EQ(listed[2].finished, 2);
  // The recorded rows show the file's current wording, not the one recorded with the runs.
  EXPECT_EQ(listed[0].source, "seed 002, reworded");
  EXPECT_EQ(listed[2].source, "seed 002, reworded");
  EXPECT_NEAR(listed[2].test_accuracy.mean, 0.525, 1e-12);
}

TEST_F(LedgerTest, PlannedSeedsCountBeforeTheStoreHasThem) {
  std::string first_seed = kClaim62;  // only seed 1 of 3 is in the store
  first_seed.replace(first_seed.find("[1, 2, 3]"), 9, "[1]");
  record(first_seed, {124});
  ASSERT_EQ(buildLedger(*store_, 1000, 1).front().runs, 1);
  const auto listed =
      withDeclared(buildLedger(*store_, 1000, 1), {config::parseExperiment(kClaim62, "c.toml")});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].finished, 1);
  EXPECT_EQ(listed[0].runs, 3);
  EXPECT_NE(ledgerMarkdown(listed).find("| 62.00% (1 of 3) |"), std::string::npos)
      << ledgerMarkdown(listed);  // one run: no "± 0.00%"
}

TEST_F(LedgerTest, ThinnedTestSplitIsMarkedNotComparable) {
  record(R"(name = "thin"
[data]
eval_subset = 0.1
[reference]
source = "s"
claimed = 0.6
)",
         {120});
  const auto ledger = buildLedger(*store_, 1000, 1);
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_TRUE(ledger[0].thinned);
  EXPECT_NE(ledgerMarkdown(ledger).find("NOT COMPARABLE: thinned PrivateTest"), std::string::npos);
}

}  // namespace
}  // namespace ferlab::report
