// An ensemble run in `ferlab report` and the reproduction ledger: treated like any run where
// it has what a run has (metrics, predictions, significance), skipped where it has not
// (epochs, params, seeds), its data found through its members.

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "framework/report/Ensemble.h"
#include "framework/report/HtmlReport.h"
#include "framework/report/Ledger.h"

namespace ferlab::report {
namespace {

namespace fs = std::filesystem;
using tracking::Prediction;

const std::string kAssetsDir = std::string(FERLAB_SOURCE_DIR) + "/reports/assets";
const std::string kData = std::string(FERLAB_TEST_DATA) + "/fer2013";
constexpr int kClasses = 7;
constexpr int kSamples = 40;

std::string between(const std::string& text, const std::string& open, const std::string& close) {
  const std::size_t start = text.find(open);
  if (start == std::string::npos) return "";
  const std::size_t end = text.find(close, start + open.size());
  return end == std::string::npos ? ""
                                  : text.substr(start + open.size(), end - start - open.size());
}

std::string section(const std::string& html, const std::string& id) {
  return between(html, "<section id=\"" + id + "\">", "</section>");
}

/// Right (0.9 for the label) on samples [from, to), wrong (0.2, the next class 0.48) elsewhere.
std::vector<Prediction> predictions(int from, int to, std::int64_t first_index) {
  std::vector<Prediction> out;
  for (int i = 0; i < kSamples; ++i) {
    Prediction p;
    p.sample_index = first_index + i;
    p.sample_id = "test/missing/" + std::to_string(i) + ".jpg";
    p.label = i % kClasses;
    const float right = i >= from && i < to ? 0.9f : 0.2f;
    const std::int64_t next = (p.label + 1) % kClasses;
    p.probabilities.assign(kClasses, 0.4f * (1 - right) / (kClasses - 2));
    p.probabilities[next] = 0.6f * (1 - right);
    p.probabilities[p.label] = right;
    p.predicted = right > 0.6f * (1 - right) ? p.label : next;
    out.push_back(std::move(p));
  }
  return out;
}

tracking::SplitMetrics metricsOf(const std::string& split, const std::vector<Prediction>& ps) {
  tracking::SplitMetrics m;
  m.split = split;
  m.confusion.assign(kClasses * kClasses, 0);
  for (const Prediction& p : ps) {
    ++m.confusion[p.label * kClasses + p.predicted];
    m.accuracy += (p.label == p.predicted) / static_cast<double>(ps.size());
  }
  for (int c = 0; c < kClasses; ++c)
    m.classes.push_back({"class" + std::to_string(c), 0.5, 0.5, 0.5, 6});
  return m;
}

class EnsembleReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kAssetsDir + "/vega-bundle.js")) << "run scripts/setup.sh";
    dir_ = fs::temp_directory_path() /
           ("ferlab-ensemble-report-" + std::to_string(std::random_device()()));
    fs::create_directories(dir_);
    store_ = std::make_unique<tracking::SqliteStore>((dir_ / "ferlab.db").string());
    store_->ensureExperiment("repro", "experiments/repro.toml", {"train.seed"});
    addRun("r00000000001", "1", 0, 24);
    addRun("r00000000002", "2", 16, 40);
    addRun("r00000000003", "3", 4, 26);
    EnsembleRequest request;
    request.experiment = "repro";
    request.name = "repro-greedy";
    ensemble_ = buildEnsemble(*store_, request);
    options_.assets_dir = kAssetsDir;
    options_.bootstrap_resamples = 1000;
    html_ = renderHtmlReport(*store_, options_);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  /// A finished reproduction run (its config declares a [reference]) with two epochs.
  void addRun(const std::string& id, const std::string& seed, int from, int to) {
    tracking::RunRecord run;
    run.id = id;
    run.experiment = "repro";
    run.name = "repro[seed=" + seed + "]";
    run.config_json = R"({"data":{"path":")" + kData +
                      R"("},"reference":{"source":"Someone 2020","claimed":0.6}})";
    run.backbone = "vggnet";
    run.params = {{"model.name", "vggnet"}, {"train.lr", "0.01"}, {"train.seed", seed}};
    run.grid_values = {{"train.seed", seed}};
    store_->ensureRun(run);
    store_->markRunning(run);
    tracking::RunSummary summary;
    for (int n = 1; n <= 2; ++n) {
      tracking::EpochRecord epoch;
      epoch.epoch = n;
      epoch.val_accuracy = 0.3 * n;
      summary.best_epoch = summary.last_epoch = n;
      store_->recordEpoch(id, epoch, summary);
    }
    // PrivateTest: right on fewer samples, so the ensemble makes mistakes there (a gallery).
    const auto val = predictions(from, to, 0), test = predictions(from + 2, to - 2, 1000);
    summary.best_val_accuracy = metricsOf("PublicTest", val).accuracy;
    summary.test_accuracy = metricsOf("PrivateTest", test).accuracy;
    store_->finishRun(id, summary, {metricsOf("PublicTest", val), metricsOf("PrivateTest", test)},
                      {{"PublicTest", val}, {"PrivateTest", test}});
  }

  fs::path dir_;
  std::unique_ptr<tracking::SqliteStore> store_;
  EnsembleOutcome ensemble_;
  ReportOptions options_;
  std::string html_;
};

TEST_F(EnsembleReportTest, TheEnsembleIsARunOfTheReportWithoutCurvesParamsOrSeeds) {
  const std::string& id = ensemble_.run.record.id;
  ASSERT_GE(ensemble_.members.size(), 2u);
  const std::string runs = section(html_, "runs");
  EXPECT_NE(runs.find(id), std::string::npos);
  EXPECT_NE(runs.find(">ensemble</td>"), std::string::npos);  // the backbone column
  // Only the seed varies among the trained runs; the ensemble's missing params do not make
  // train.lr look varied.
  EXPECT_NE(runs.find("<th class=\"param const\">train.lr</th>"), std::string::npos) << runs;
  EXPECT_NE(runs.find("<th class=\"param\">train.seed</th>"), std::string::npos);

  const std::string curves = section(html_, "curves");
  EXPECT_NE(curves.find("Ensembles have no epochs"), std::string::npos) << curves;
  EXPECT_NE(curves.find("repro-greedy"), std::string::npos);
  EXPECT_EQ(curves.find("No epochs recorded:"), std::string::npos) << curves;

  // The three trained runs differ only by seed: one group of 3, the ensemble not in it.
  const std::string seeds = section(html_, "seeds");
  EXPECT_NE(seeds.find("data-sort=\"3\">3</td>"), std::string::npos) << seeds;
  EXPECT_EQ(seeds.find("repro-greedy"), std::string::npos) << seeds;

  // The best run by PublicTest is the ensemble (perfect there by construction), said to be
  // optimistic; its gallery reads the data of its members.
  EXPECT_DOUBLE_EQ(ensemble_.run.summary.best_val_accuracy, 1.0);
  const std::string summary = section(html_, "summary");
  EXPECT_NE(summary.find("<strong>repro-greedy</strong>"), std::string::npos) << summary;
  EXPECT_NE(summary.find("chosen on PublicTest, so this value is optimistic"), std::string::npos);
  EXPECT_NE(summary.find("an ensemble of " + std::to_string(ensemble_.members.size()) + " runs"),
            std::string::npos)
      << summary;
  EXPECT_NE(section(html_, "errors").find("Images read from <code>" + kData), std::string::npos)
      << section(html_, "errors");
  // Significance: each trained run against the ensemble, on the same samples.
  const std::string significance = section(html_, "significance");
  EXPECT_NE(significance.find("<strong>repro-greedy</strong>"), std::string::npos);
  EXPECT_EQ(significance.find("different test samples"), std::string::npos);
}

TEST_F(EnsembleReportTest, TheLedgerShowsTheEnsembleOfReproductionRunsAfterTheReference) {
  const auto ledger = buildLedger(*store_, 1000, 3);
  ASSERT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger[0].experiment, "repro");
  EXPECT_FALSE(ledger[0].ensemble);
  EXPECT_EQ(ledger[0].finished, 3);  // the ensemble is not one of the seeds
  const LedgerEntry& row = ledger[1];
  EXPECT_TRUE(row.ensemble);
  EXPECT_EQ(row.verdict, Verdict::Ensemble);
  EXPECT_EQ(row.run_id, ensemble_.run.record.id);
  EXPECT_EQ(row.claimed, 0);
  EXPECT_DOUBLE_EQ(row.val_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(row.test_accuracy.mean, ensemble_.run.summary.test_accuracy);
  ASSERT_TRUE(row.has_interval);
  EXPECT_LE(row.mean_interval.low, row.test_accuracy.mean);
  EXPECT_EQ(row.members.size(), ensemble_.members.size());
  EXPECT_EQ(row.member_experiments, (std::vector<std::string>{"repro"}));
  const std::string table = ledgerMarkdown(ledger);
  EXPECT_NE(table.find("`repro-greedy` (ensemble " + row.run_id + ", in `repro`)"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("ensemble: no claim of its own"), std::string::npos);
  EXPECT_NE(table.find("members: " + ensemble_.members[0].run_id), std::string::npos) << table;
  EXPECT_NE(section(html_, "ledger").find("repro-greedy (ensemble"), std::string::npos);

  // An ensemble with a member outside the reproduction experiments gets no ledger row.
  tracking::RunRecord plain;
  plain.id = "p00000000001";
  plain.experiment = "plain";
  plain.name = "plain";
  plain.config_json = "{}";
  store_->ensureRun(plain);
  const auto val = predictions(0, 40, 0), test = predictions(0, 40, 1000);
  store_->finishRun(plain.id, {}, {}, {{"PublicTest", val}, {"PrivateTest", test}});
  EnsembleRequest mixed;
  mixed.runs = {"p00000000001", "r00000000001"};
  mixed.method = SelectionMethod::All;
  mixed.name = "mixed";
  buildEnsemble(*store_, mixed);
  EXPECT_EQ(buildLedger(*store_, 1000, 3).size(), 2u);
}

}  // namespace
}  // namespace ferlab::report
