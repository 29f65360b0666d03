#include "framework/report/HtmlReport.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "framework/core/Errors.h"
#include "framework/report/Charts.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::report {
namespace {

namespace fs = std::filesystem;
using tracking::ClassMetrics;
using tracking::EpochRecord;
using tracking::Prediction;
using tracking::RunRecord;
using tracking::RunSummary;
using tracking::SplitMetrics;

const std::string kHostileName = "<script>alert(1)</script>";
// Written by scripts/install_report_assets.sh from the pinned vl-convert-python.
const std::string kAssetsDir = std::string(FERLAB_SOURCE_DIR) + "/reports/assets";
const std::string kBundle = "vega-bundle.js";
const std::string kBundleVersions = "vega-bundle.json";
const std::string kData = std::string(FERLAB_TEST_DATA) + "/fer2013";
const std::vector<std::string> kClasses = {"angry", "disgust",  "fear",   "happy",
                                           "sad",   "surprise", "neutral"};
const std::vector<std::string> kSections = {"summary",       "runs",         "curves",    "effects",
                                            "per-class",     "significance", "seeds",     "errors",
                                            "cross-dataset", "ledger",       "provenance"};

// Occurrences of `needle` in `text`.
int countOf(const std::string& text, const std::string& needle) {
  int count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

// The text between the first `open` and the next `close` ("" when absent).
std::string between(const std::string& text, const std::string& open, const std::string& close) {
  const std::size_t start = text.find(open);
  if (start == std::string::npos) return "";
  const std::size_t end = text.find(close, start + open.size());
  if (end == std::string::npos) return "";
  return text.substr(start + open.size(), end - start - open.size());
}

std::string section(const std::string& html, const std::string& id) {
  return between(html, "<section id=\"" + id + "\">", "</section>");
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Real PrivateTest image paths of the folder layout ("test/<class>/PrivateTest_*.jpg"), the
// sample ids Fer2013Reader gives them; labels follow the folder.
std::vector<std::pair<std::string, std::int64_t>> realSamples(std::size_t per_class) {
  std::vector<std::pair<std::string, std::int64_t>> samples;
  for (std::size_t label = 0; label < kClasses.size(); ++label) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(kData + "/test/" + kClasses[label])) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("PrivateTest_", 0) == 0) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    names.resize(std::min(names.size(), per_class));
    for (const std::string& name : names) {
      samples.emplace_back("test/" + kClasses[label] + "/" + name, label);
    }
  }
  return samples;
}

RunRecord makeRun(const std::string& id, const std::string& name, const std::string& backbone,
                  const std::string& lr, const std::string& seed = "1") {
  RunRecord run;
  run.id = id;
  run.experiment = "grid";
  run.name = name;
  run.config_json = R"({"data":{"format":"folder","path":")" + kData + R"("}})";
  run.config_hash = id + "0000";
  run.backbone = backbone;
  run.params = {
      {"model.name", backbone}, {"train.epochs", "3"}, {"train.lr", lr}, {"train.seed", seed}};
  run.grid_values = {{"train.lr", lr}, {"train.seed", seed}};
  run.git_commit = "0123456789abcdef0123456789abcdef01234567";
  run.torch_version = "1.13.1";
  run.device = "cpu";
  run.dataset_key = "cafe0123";
  return run;
}

// Epoch n of a run whose losses start at `first_loss`; distinctive values so the chart data
// can be checked by value.
EpochRecord makeEpoch(int n, double first_loss) {
  EpochRecord epoch;
  epoch.epoch = n;
  epoch.phase = n == 1 ? "frozen" : "fine_tune";
  epoch.train_loss = first_loss - 0.1 * n;
  epoch.val_loss = first_loss - 0.05 * n;
  epoch.train_accuracy = 0.30 + 0.05 * n;
  epoch.val_accuracy = 0.28 + 0.04 * n;
  epoch.val_macro_f1 = 0.25 + 0.04 * n;
  epoch.lr = 1e-3;
  epoch.images_per_sec = 5000;
  epoch.seconds = 2.5;
  return epoch;
}

// Predictions on `samples`: right except where (index + offset) % every == 0, then the next
// class with the given confidence.
std::vector<Prediction> makePredictions(
    const std::vector<std::pair<std::string, std::int64_t>>& samples, int every, int offset) {
  std::vector<Prediction> predictions;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    Prediction p;
    p.sample_index = static_cast<std::int64_t>(1000 + i);
    p.sample_id = samples[i].first;
    p.label = samples[i].second;
    const bool wrong = (static_cast<int>(i) + offset) % every == 0;
    p.predicted = wrong ? (p.label + 1) % 7 : p.label;
    p.probabilities.assign(7, 0.05f);
    p.probabilities[p.predicted] = 0.5f + 0.001f * static_cast<float>(i % 100);
    predictions.push_back(p);
  }
  return predictions;
}

SplitMetrics metricsOf(const std::string& split, const std::vector<Prediction>& predictions) {
  SplitMetrics metrics{split, 1.0, 0, 0, {}, std::vector<std::int64_t>(49, 0)};
  std::int64_t right = 0;
  for (const Prediction& p : predictions) {
    ++metrics.confusion[p.label * 7 + p.predicted];
    right += p.label == p.predicted;
  }
  metrics.accuracy = static_cast<double>(right) / predictions.size();
  metrics.macro_f1 = metrics.accuracy - 0.05;
  for (std::size_t c = 0; c < 7; ++c) {
    metrics.classes.push_back({kClasses[c], 0.6, 0.55, 0.57, 10});
  }
  return metrics;
}

// A cross-dataset evaluation (`ferlab evaluate`) of a run on a dataset holding 3 of the 7
// classes (angry, happy, sad), 10 images each.
tracking::EvaluationRecord makeEvaluation(const std::string& run_id, const std::string& dataset) {
  tracking::EvaluationRecord e;
  e.run_id = run_id;
  e.dataset = dataset;
  e.dataset_path = "/data/" + dataset;
  e.format = "folder";
  e.content_hash = "0123456789abcdef";
  e.class_map = R"({"anger":"angry","contempt":null,"happy":"happy","sadness":"sad"})";
  e.class_names = kClasses;
  e.classes = {0, 3, 4};
  e.images = 30;
  e.dropped_images = 3;
  e.accuracy = 0.5;
  e.restricted_accuracy = 0.6;
  e.macro_f1 = 0.45;
  e.class_metrics = {
      {"angry", 0.5, 0.4, 0.44, 10}, {"happy", 0.7, 0.8, 0.75, 10}, {"sad", 0.3, 0.3, 0.3, 10}};
  e.confusion = {4, 1, 1, 2, 2, 0, 0,  //
                 0, 0, 1, 8, 1, 0, 0,  //
                 1, 0, 2, 3, 3, 0, 1};
  return e;
}

class HtmlReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The chart bundle comes from vl-convert-python; CI runs scripts/setup.sh before the tests.
    ASSERT_TRUE(fs::exists(kAssetsDir + "/" + kBundle))
        << kAssetsDir << " lacks " << kBundle << ": run scripts/setup.sh (or "
        << "scripts/install_report_assets.sh) to write it before running test_report";
    ASSERT_TRUE(fs::exists(kData + "/test")) << kData << " missing (FERLAB_SHARED_DATA)";
    std::random_device random;
    dir_ = fs::temp_directory_path() / ("ferlab-report-test-" + std::to_string(random()));
    fs::create_directories(dir_);
    store_ = std::make_unique<tracking::SqliteStore>((dir_ / "ferlab.db").string());
    store_->ensureExperiment("grid", "experiments/grid.toml", {"train.lr", "train.seed"});
    samples_ = realSamples(6);  // 42 real images
    addFinished("a00000000001", "grid[lr=0.001]", "vggnet", "0.001", "1", 3, 2.0, 9, true);
    addFinished("a00000000002", "grid[lr=0.01]", "simple_cnn", "0.01", "1", 3, 1.9, 4, true);
    addFinished("a00000000003", kHostileName, "simple_cnn", "0.1", "1", 2, 1.8, 3, true);
    addFailed("a00000000004", "grid[lr=1]", "1");
    addRunning("a00000000005", "grid[lr=0.0001]", "0.0001");
    addFinished("a00000000006", "grid[lr=0.01,seed=2]", "simple_cnn", "0.01", "2", 3, 1.9, 5,
                false);
    store_->recordEvaluation(makeEvaluation("a00000000002", "ckplus"));
    options_.assets_dir = kAssetsDir;
    options_.bootstrap_resamples = 1000;
    html_ = renderHtmlReport(*store_, options_);
  }

  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void start(const RunRecord& run) {
    store_->ensureRun(run);
    store_->markRunning(run);
  }

  void addEpochs(const std::string& id, int epochs, double first_loss) {
    RunSummary summary;
    for (int n = 1; n <= epochs; ++n) {
      const EpochRecord epoch = makeEpoch(n, first_loss);
      summary.best_epoch = summary.last_epoch = n;
      summary.best_val_accuracy = summary.last_val_accuracy = epoch.val_accuracy;
      summary.best_val_loss = epoch.val_loss;
      summary.best_val_macro_f1 = epoch.val_macro_f1;
      summary.last_train_loss = epoch.train_loss;
      summary.last_train_accuracy = epoch.train_accuracy;
      store_->recordEpoch(id, epoch, summary);
    }
  }

  // Validation accuracy 0.28 + 0.04 * epochs (+ 0.001 for seed 2), so the first run (and
  // the seed-2 run's twin) are the best candidates; `every` sets the test error rate.
  void addFinished(const std::string& id, const std::string& name, const std::string& backbone,
                   const std::string& lr, const std::string& seed, int epochs, double first_loss,
                   int every, bool with_predictions) {
    start(makeRun(id, name, backbone, lr, seed));
    addEpochs(id, epochs, first_loss);
    store_->recordPhase(id, {0, "frozen", 1, 1, 10, 100});
    store_->recordPhase(id, {1, "fine_tune", 2, epochs - 1, 100, 100});
    const auto test = makePredictions(samples_, every, 0);
    const auto val = makePredictions(samples_, every, 1);
    RunSummary summary;
    summary.best_epoch = summary.last_epoch = epochs;
    summary.best_val_accuracy = summary.last_val_accuracy =
        0.28 + 0.04 * epochs - (id == "a00000000001" ? 0 : 0.001);
    const SplitMetrics test_metrics = metricsOf("PrivateTest", test);
    summary.test_accuracy = test_metrics.accuracy;
    summary.test_macro_f1 = test_metrics.macro_f1;
    summary.images_per_sec = 4321;
    summary.duration_s = 75;
    std::vector<std::pair<std::string, std::vector<Prediction>>> predictions;
    if (with_predictions) predictions = {{"PrivateTest", test}, {"PublicTest", val}};
    store_->finishRun(id, summary, {metricsOf("PublicTest", val), test_metrics}, predictions);
  }

  void addFailed(const std::string& id, const std::string& name, const std::string& lr) {
    start(makeRun(id, name, "vggnet", lr));
    addEpochs(id, 1, 2.2);
    store_->failRun(id, "loss is NaN at epoch 2 <diverged>");
  }

  void addRunning(const std::string& id, const std::string& name, const std::string& lr) {
    start(makeRun(id, name, "vggnet", lr));
  }

  std::string table() const { return between(html_, "<table id=\"runs-table\"", "</table>"); }

  nlohmann::json specs() const {
    return nlohmann::json::parse(
        between(html_, "<script type=\"application/json\" id=\"ferlab-specs\">", "</script>"));
  }

  fs::path dir_;
  std::unique_ptr<tracking::SqliteStore> store_;
  std::vector<std::pair<std::string, std::int64_t>> samples_;
  ReportOptions options_;
  std::string html_;
};

TEST_F(HtmlReportTest, EverySectionIsPresentInOrder) {
  std::size_t previous = 0;
  for (const std::string& id : kSections) {
    const std::size_t at = html_.find("<section id=\"" + id + "\">\n<h2>");
    ASSERT_NE(at, std::string::npos) << id;
    EXPECT_GT(at, previous) << id;
    previous = at;
    EXPECT_NE(html_.find("<a href=\"#" + id + "\">"), std::string::npos) << id;
  }
}

TEST_F(HtmlReportTest, HeaderStatesRunCountCommitAndProtocol) {
  EXPECT_NE(html_.find("<title>FERLab report</title>"), std::string::npos);
  EXPECT_NE(html_.find("6 runs"), std::string::npos);
  EXPECT_NE(html_.find("0123456789abcdef0123456789abcdef01234567"), std::string::npos);
  const std::string protocol =
      "PrivateTest (test) is evaluated once per run on the checkpoint chosen by validation, and "
      "never used for selection.";
  EXPECT_EQ(countOf(html_, protocol), 2);  // the header and the provenance section
}

TEST_F(HtmlReportTest, SummaryNamesTheBestRunByValidationWithBootstrapIntervals) {
  const std::string summary = section(html_, "summary");
  EXPECT_NE(summary.find("<strong>grid[lr=0.001]</strong> <code>a00000000001</code>"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("40.00% at epoch 3"), std::string::npos);
  // 42 samples, every 9th wrong (i = 0, 9, ..., 36): 5 wrong, 37/42 = 88.10%.
  EXPECT_NE(summary.find("88.10% ["), std::string::npos) << summary;
  EXPECT_NE(summary.find("highest PublicTest accuracy"), std::string::npos);
  EXPECT_NE(summary.find("played no part in the choice"), std::string::npos);
  EXPECT_NE(summary.find("42 stored per-sample test predictions, 1000 resamples"),
            std::string::npos);
}

TEST_F(HtmlReportTest, TableListsEveryRunWithStatus) {
  const std::string rows = table();
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(countOf(rows, "<tr class=\"status-"), 6);
  for (const char* id : {"a00000000001", "a00000000002", "a00000000003", "a00000000004",
                         "a00000000005", "a00000000006"}) {
    EXPECT_NE(rows.find(id), std::string::npos) << id;
  }
  EXPECT_EQ(countOf(rows, "<tr class=\"status-finished\">"), 4);
  EXPECT_EQ(countOf(rows, "<tr class=\"status-failed\">"), 1);
  EXPECT_EQ(countOf(rows, "<tr class=\"status-running\">"), 1);
  EXPECT_NE(rows.find("88.10%"), std::string::npos);  // test accuracy of the first run
  EXPECT_NE(rows.find("1:15"), std::string::npos);    // 75 s duration
  EXPECT_NE(rows.find("title=\"loss is NaN at epoch 2 &lt;diverged&gt;\""), std::string::npos);
}

TEST_F(HtmlReportTest, UnknownValuesRenderAsNa) {
  const std::string running = between(table(), "<tr class=\"status-running\">", "</tr>");
  ASSERT_FALSE(running.empty());
  // val acc, val F1, best epoch, test acc, test F1, images/s, duration.
  EXPECT_EQ(countOf(running, "data-sort=\"\">n/a</td>"), 7);
  const std::string failed = between(table(), "<tr class=\"status-failed\">", "</tr>");
  EXPECT_NE(failed.find("32.00%"), std::string::npos);  // best val of its one epoch
  EXPECT_GE(countOf(failed, "n/a</td>"), 2);            // no test metrics
}

TEST_F(HtmlReportTest, TableShowsOnlyVariedParamsUnlessToggled) {
  const std::string head = between(table(), "<thead>", "</thead>");
  EXPECT_NE(head.find("<th class=\"param\">train.lr</th>"), std::string::npos);
  EXPECT_NE(head.find("<th class=\"param\">train.seed</th>"), std::string::npos);
  // Constant params are there for the toggle, hidden by CSS until it is ticked.
  EXPECT_NE(head.find("<th class=\"param const\">train.epochs</th>"), std::string::npos);
  EXPECT_EQ(head.find(">model.name</th>"), std::string::npos);  // the backbone column
  EXPECT_NE(html_.find("id=\"show-all-params\""), std::string::npos);
  EXPECT_NE(html_.find("table:not(.show-all) .const { display: none; }"), std::string::npos);
  EXPECT_NE(table().find("<td class=\"param\" data-sort=\"0.0001\">0.0001</td>"),
            std::string::npos);
}

TEST_F(HtmlReportTest, HostileRunNameAppearsOnlyEscaped) {
  EXPECT_EQ(html_.find("<script>alert(1)"), std::string::npos);
  EXPECT_EQ(html_.find("alert(1)</script>"), std::string::npos);
  EXPECT_NE(table().find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(section(html_, "significance").find("&lt;script&gt;alert(1)&lt;/script&gt;"),
            std::string::npos);
  // In the chart data it is JSON with "<" escaped, and JSON.parse restores the name.
  EXPECT_NE(html_.find("\\u003cscript>alert(1)\\u003c/script>"), std::string::npos);
  const nlohmann::json rows = specs()["chart-loss"]["layer"][0]["data"]["values"];
  const bool found = std::any_of(rows.begin(), rows.end(), [](const nlohmann::json& row) {
    return row["run"].get<std::string>() == kHostileName;
  });
  EXPECT_TRUE(found) << rows.dump();
}

TEST_F(HtmlReportTest, PageIsSelfContained) {
  EXPECT_EQ(html_.find("<script src"), std::string::npos);
  EXPECT_EQ(html_.find("<link"), std::string::npos);
  EXPECT_EQ(html_.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html_.find("href=\"http"), std::string::npos);
  EXPECT_EQ(html_.find("url(http"), std::string::npos);
  EXPECT_EQ(html_.find("sourceMappingURL"), std::string::npos);
  EXPECT_NE(html_.find("actions: false"), std::string::npos);
  EXPECT_NE(html_.find("renderer: 'svg'"), std::string::npos);
}

// The one bundle is inlined whole, inside a function scope (its minified top-level `const`
// names must not become page globals), once, before the page's own script uses vegaEmbed.
TEST_F(HtmlReportTest, ChartBundleIsInlinedInItsOwnScope) {
  const std::string code = readFile(kAssetsDir + "/" + kBundle);
  ASSERT_GT(code.size(), 100000u);
  const std::string open = "<script>/* vega-bundle.js */\n(function () {\n";
  const std::string close = "\n})();\n</script>\n";
  const std::size_t start = html_.find(open + code.substr(0, 300));
  ASSERT_NE(start, std::string::npos);
  // The whole bundle, unchanged, between the two.
  EXPECT_EQ(html_.compare(start + open.size(), code.size() + close.size(), code + close), 0);
  EXPECT_EQ(countOf(html_, "window.vegaEmbed="), 1);
  EXPECT_LT(start + open.size() + code.size(), html_.find("vegaEmbed('#'"));
  EXPECT_EQ(html_.find("node_modules"), std::string::npos);
}

// The provenance section shows the versions install_report_assets.sh recorded.
TEST_F(HtmlReportTest, ProvenanceShowsTheBundledLibraryVersions) {
  const nlohmann::json versions =
      nlohmann::json::parse(readFile(kAssetsDir + "/" + kBundleVersions));
  const std::string provenance = section(html_, "provenance");
  for (const char* library : {"vega", "vega-lite", "vega-embed"}) {
    const std::string version = versions.at(library).get<std::string>();
    EXPECT_NE(provenance.find(std::string(library) + " " + version), std::string::npos)
        << library << " " << version;
  }
  // The specs name Vega-Lite v6 (Charts.h); the bundle must be that major version.
  EXPECT_EQ(versions.at("vega-lite").get<std::string>().substr(0, 2), "6.");
  EXPECT_NE(
      provenance.find("vl-convert-python " + versions.at("vl-convert-python").get<std::string>()),
      std::string::npos);
}

TEST_F(HtmlReportTest, EveryChartHasAContainerAndAVegaLiteSpec) {
  const nlohmann::json all = specs();
  for (const char* id : {"chart-loss", "chart-accuracy", "chart-effect-0", "chart-effect-1",
                         "chart-per-class", "chart-cm-0", "chart-cm-pick", "chart-test-accuracy"}) {
    ASSERT_TRUE(all.contains(id)) << id;
    EXPECT_NE(html_.find(std::string("<div class=\"chart\" id=\"") + id + "\">"), std::string::npos)
        << id;
  }
  for (const auto& [id, spec] : all.items()) {
    EXPECT_NE(html_.find("<div class=\"chart\" id=\"" + id + "\">"), std::string::npos) << id;
  }
}

TEST_F(HtmlReportTest, LearningCurvesHoldEveryEpochWithLegendToggleAndPhaseRules) {
  const nlohmann::json spec = specs()["chart-loss"];
  const auto& curves = spec["layer"][0];
  // 3 + 3 + 2 + 1 + 3 epochs, one train and one validation row each; the running run has none.
  ASSERT_EQ(curves["data"]["values"].size(), 2u * 12u);
  bool found = false;
  for (const auto& row : curves["data"]["values"]) {
    if (row["run"] == "grid[lr=0.01]" && row["epoch"] == 2 && row["split"] == "validation") {
      EXPECT_DOUBLE_EQ(row["loss"].get<double>(), makeEpoch(2, 1.9).val_loss);
      EXPECT_EQ(row["details"], "train.lr=0.01, train.seed=1, model.name=simple_cnn");
      found = true;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(curves["params"][0]["bind"], "legend");
  EXPECT_EQ(curves["encoding"]["opacity"]["condition"]["param"], curves["params"][0]["name"]);
  EXPECT_EQ(spec["layer"][1]["mark"]["type"], "rule");
  // Phase 1 ("fine_tune") starts at epoch 2 of the four finished runs.
  EXPECT_EQ(spec["layer"][1]["data"]["values"].size(), 4u);
  EXPECT_NE(section(html_, "curves").find("No epochs recorded: grid[lr=0.0001]"),
            std::string::npos);
}

TEST_F(HtmlReportTest, EffectsGroupValidationAccuracyByEachVariedParam) {
  const nlohmann::json all = specs();
  // train.lr (0.001, 0.01, 0.1, 1; the running run has no accuracy) then train.seed (1, 2).
  const auto& lr = all["chart-effect-0"];
  EXPECT_EQ(lr["title"], "train.lr");
  const auto& points = lr["data"]["values"];
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[1]["value"], "0.01");
  EXPECT_EQ(points[1]["n"], 2);  // two seeds
  EXPECT_NEAR(points[1]["mean"].get<double>(), 0.399, 1e-12);
  EXPECT_EQ(all["chart-effect-1"]["title"], "train.seed");
  EXPECT_EQ(all["chart-effect-2"]["title"], "model.name");  // the backbone varies too
}

TEST_F(HtmlReportTest, PerClassAndConfusionMatricesOfRunsWithTestMetrics) {
  const nlohmann::json all = specs();
  // 4 finished runs x 7 classes x 3 metrics.
  EXPECT_EQ(all["chart-per-class"]["data"]["values"].size(), 4u * 7u * 3u);
  EXPECT_EQ(all["chart-cm-0"]["title"]["text"], "grid[lr=0.001]");  // the best run first
  EXPECT_EQ(all["chart-cm-0"]["data"]["values"].size(), 49u);
  const std::string per_class = section(html_, "per-class");
  EXPECT_EQ(countOf(per_class, "<option value=\"cm-run-"), 4);
  EXPECT_NE(html_.find("id=\"ferlab-cm-choices\""), std::string::npos);
}

TEST_F(HtmlReportTest, CrossDatasetListsEvaluationsWithDatasetByModelConfusionMatrices) {
  const std::string cross = section(html_, "cross-dataset");
  EXPECT_NE(cross.find("<h2>9 Cross-dataset</h2>"), std::string::npos) << cross;
  const std::string rows = between(cross, "<tbody>", "</tbody>");
  EXPECT_EQ(countOf(rows, "<tr>"), 1);
  for (const char* cell : {">grid[lr=0.01]<", ">ckplus<", ">folder<", ">30<", ">angry, happy, sad<",
                           ">50.00%<", ">60.00%<", ">0.4500<"}) {
    EXPECT_NE(rows.find(cell), std::string::npos) << cell << "\n" << rows;
  }
  const nlohmann::json matrix = specs()["chart-cross-0"];
  EXPECT_EQ(matrix["title"]["text"], "grid[lr=0.01] on ckplus");
  ASSERT_EQ(matrix["data"]["values"].size(), 3u * 7u);  // dataset classes x model classes
  const auto& happy_as_happy = matrix["data"]["values"][7 + 3];
  EXPECT_EQ(happy_as_happy["true"], "happy");
  EXPECT_EQ(happy_as_happy["predicted"], "happy");
  EXPECT_EQ(happy_as_happy["count"], 8);
  EXPECT_DOUBLE_EQ(happy_as_happy["fraction"].get<double>(), 0.8);
  EXPECT_EQ(matrix["width"], 7 * 30);
  EXPECT_EQ(matrix["height"], 3 * 30);

  ReportOptions options = options_;
  options.selection.run_ids = {"a00000000001"};
  EXPECT_NE(section(renderHtmlReport(*store_, options), "cross-dataset")
                .find("No run has been evaluated on another dataset"),
            std::string::npos);
}

TEST_F(HtmlReportTest, SignificanceComparesEachRunWithTheBest) {
  const std::string significance = section(html_, "significance");
  const std::string rows = between(significance, "<tbody>", "</tbody>");
  EXPECT_EQ(countOf(rows, "<tr>"), 5);  // every run but the best
  EXPECT_NE(significance.find("Holm"), std::string::npos);
  // Best: every 9th wrong (i % 9 == 0); lr=0.01: every 4th. Best only right where i % 4 == 0
  // and i % 9 != 0: i in {4, 8, 12, 16, 20, 24, 28, 32, 40} = 9; run only right where
  // i % 9 == 0 and i % 4 != 0: {9, 18, 27} = 3.
  const std::string row = between(rows, "grid[lr=0.01]</td>", "</tr>");
  EXPECT_NE(row.find(">9</td><td class=\"num\" data-sort=\"3\">3</td>"), std::string::npos) << row;
  EXPECT_NE(rows.find("no test predictions"), std::string::npos);  // the seed-2 run
  EXPECT_GE(countOf(rows, "n/a</td>"), 5 * 3);  // failed, running, no predictions
  EXPECT_TRUE(specs().contains("chart-test-accuracy"));
  EXPECT_EQ(specs()["chart-test-accuracy"]["data"]["values"].size(), 3u);
}

TEST_F(HtmlReportTest, SeedsAggregateRunsThatDifferOnlyBySeed) {
  const std::string seeds = section(html_, "seeds");
  const std::string rows = between(seeds, "<tbody>", "</tbody>");
  EXPECT_EQ(countOf(rows, "<tr>"), 1);
  EXPECT_NE(rows.find("train.lr=0.01"), std::string::npos);
  EXPECT_NE(rows.find("1, 2"), std::string::npos);
  EXPECT_NE(rows.find("39.90% \u00b1 0.00 (n=2)"), std::string::npos) << rows;
}

TEST_F(HtmlReportTest, ErrorsGalleryShowsRealImagesOfTheBestRunsMistakes) {
  const std::string errors = section(html_, "errors");
  EXPECT_EQ(countOf(errors, "<figure"), 5);  // the best run's 5 mistakes
  EXPECT_EQ(countOf(errors, "src=\"data:image/png;base64,iVBORw0KGgo"), 5);
  EXPECT_EQ(errors.find("image not found"), std::string::npos);
  // Most confident first: mistake i = 36 has probability 0.536.
  const std::size_t first = errors.find("<figure");
  EXPECT_NE(errors.find("confidence 53.6%", first), std::string::npos);
  EXPECT_LT(errors.find("confidence 53.6%"), errors.find("confidence 50.0%"));
  EXPECT_NE(errors.find("true <b>angry</b><br>predicted <b>disgust</b>"), std::string::npos);
}

TEST_F(HtmlReportTest, MissingImagesAreReportedNotThrown) {
  RunRecord run = makeRun("b00000000001", "elsewhere", "vggnet", "0.5");
  run.config_json = R"({"data":{"format":"folder","path":"/no/such/fer2013"}})";
  run.experiment = "moved";
  store_->ensureExperiment("moved", "experiments/moved.toml", {});
  start(run);
  addEpochs(run.id, 3, 1.0);
  const auto test = makePredictions(samples_, 9, 0);
  RunSummary summary;
  summary.best_val_accuracy = 0.5;
  store_->finishRun(run.id, summary, {metricsOf("PrivateTest", test)}, {{"PrivateTest", test}});
  ReportOptions options = options_;
  options.selection.experiments = {"moved"};
  const std::string errors = section(renderHtmlReport(*store_, options), "errors");
  EXPECT_EQ(countOf(errors, "image not found"), 5);
  EXPECT_NE(errors.find("5 of 5 images were not found"), std::string::npos);
}

// A run on the challenge CSV: its gallery reads the rows of its sample ids
// ("<file>.csv:<line>") with data::readChallengeCsvLines, and shows each image as the PNG of
// the same pixels the folder layout holds.
TEST_F(HtmlReportTest, ErrorsGalleryReadsTheChallengeCsv) {
  const fs::path csv = dir_ / "faces.csv";
  {
    std::ofstream out(csv, std::ios::binary);
    out << "emotion,pixels,Usage\n";
    for (const auto& [id, label] : samples_) {
      const cv::Mat image = cv::imread(kData + "/" + id, cv::IMREAD_GRAYSCALE);
      ASSERT_EQ(image.total(), 48u * 48u) << id;
      out << label << ",\"";
      for (std::size_t i = 0; i < image.total(); ++i) {
        out << (i == 0 ? "" : " ") << static_cast<int>(image.data[i]);
      }
      out << "\",PrivateTest\n";
    }
  }
  RunRecord run = makeRun("b00000000002", "on the csv", "vggnet", "0.5");
  run.config_json = R"({"data":{"format":"csv","path":")" + csv.string() + R"("}})";
  run.experiment = "csv";
  store_->ensureExperiment("csv", "experiments/csv.toml", {});
  start(run);
  addEpochs(run.id, 3, 1.0);
  // Sample i is on line i + 2; every 9th is a mistake (samples 0, 9, 18, 27 and 36).
  std::vector<std::pair<std::string, std::int64_t>> csv_samples;
  for (std::size_t i = 0; i < samples_.size(); ++i) {
    csv_samples.emplace_back("faces.csv:" + std::to_string(i + 2), samples_[i].second);
  }
  const auto test = makePredictions(csv_samples, 9, 0);
  RunSummary summary;
  summary.best_val_accuracy = 0.5;
  store_->finishRun(run.id, summary, {metricsOf("PrivateTest", test)}, {{"PrivateTest", test}});
  ReportOptions options = options_;
  options.selection.experiments = {"csv"};
  const std::string errors = section(renderHtmlReport(*store_, options), "errors");
  EXPECT_EQ(countOf(errors, "<figure"), 5);
  EXPECT_EQ(errors.find("image not found"), std::string::npos) << errors;
  for (const std::size_t i : {0, 9, 18, 27, 36}) {
    std::vector<unsigned char> png;
    ASSERT_TRUE(cv::imencode(
        ".png", cv::imread(kData + "/" + samples_[i].first, cv::IMREAD_GRAYSCALE), png));
    const std::string uri =
        "src=\"data:image/png;base64," + base64Encode(std::string(png.begin(), png.end())) + "\"";
    EXPECT_NE(errors.find("alt=\"faces.csv:" + std::to_string(i + 2) + "\" " + uri),
              std::string::npos)
        << "sample " << i;
  }
}

TEST_F(HtmlReportTest, ProvenanceListsEveryRun) {
  const std::string provenance = section(html_, "provenance");
  EXPECT_EQ(countOf(between(provenance, "<tbody>", "</tbody>"), "<tr>"), 6);
  EXPECT_NE(provenance.find("a000000000010000"), std::string::npos);  // config hash
  EXPECT_NE(provenance.find("cafe0123"), std::string::npos);          // dataset key
  EXPECT_NE(provenance.find("1.13.1"), std::string::npos);
  EXPECT_NE(provenance.find(">not applicable</td>"), std::string::npos);  // alignment -1
}

TEST_F(HtmlReportTest, WhereFilterAndRunIdsSelectRuns) {
  ReportOptions options = options_;
  options.selection.where = {{"train.lr", "0.01"}};
  std::string html = renderHtmlReport(*store_, options);
  EXPECT_EQ(countOf(between(html, "<tbody>", "</tbody>"), "<tr "), 2);
  options = options_;
  options.selection.run_ids = {"a00000000002"};
  html = renderHtmlReport(*store_, options);
  EXPECT_EQ(countOf(between(html, "<tbody>", "</tbody>"), "<tr "), 1);
  EXPECT_NE(html.find("1 run "), std::string::npos);
}

TEST_F(HtmlReportTest, ExperimentWithoutRunsRendersAnEmptyPage) {
  ReportOptions options = options_;
  options.selection.experiments = {"no-such-experiment"};
  const std::string html = renderHtmlReport(*store_, options);
  EXPECT_NE(html.find("0 runs"), std::string::npos);
  EXPECT_NE(html.find("No runs match"), std::string::npos);
  EXPECT_NE(html.find("No epochs recorded yet."), std::string::npos);
  for (const std::string& id : kSections) {
    EXPECT_NE(html.find("<section id=\"" + id + "\">"), std::string::npos) << id;
  }
}

TEST_F(HtmlReportTest, UnknownRunIdThrowsStoreError) {
  ReportOptions options = options_;
  options.selection.run_ids = {"ffffffffffff"};
  EXPECT_THROW(renderHtmlReport(*store_, options), StoreError);
  options.selection.run_ids = {"a0000"};  // a prefix of every run
  EXPECT_THROW(renderHtmlReport(*store_, options), StoreError);
}

TEST_F(HtmlReportTest, MissingLibraryThrowsDataErrorNamingSetup) {
  ReportOptions options = options_;
  options.assets_dir = (dir_ / "no-assets").string();
  try {
    renderHtmlReport(*store_, options);
    FAIL() << "expected DataError";
  } catch (const DataError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("no-assets/vega-bundle.js not found"), std::string::npos) << message;
    EXPECT_NE(message.find("run scripts/setup.sh"), std::string::npos) << message;
    EXPECT_NE(message.find("install_report_assets.sh"), std::string::npos) << message;
  }
}

// FERLAB_REPORT_ASSETS moves the default folder; unset or empty, it is <root>/reports/assets
// where <root> is the folder above the executable's (core/ResourcePaths.h). For this test
// binary, build/tests/test_report, that is build/reports/assets, which does not exist: the
// error names it and the variable. (tests/cli/RelocatedBinaryTest.cpp finds it beside a
// copied `ferlab`.)
TEST(ReportAssets, EnvironmentOverridesTheDefaultFolder) {
  const char* saved = std::getenv("FERLAB_REPORT_ASSETS");
  const std::string restore = saved != nullptr ? saved : "";
  ::setenv("FERLAB_REPORT_ASSETS", "/elsewhere/assets", 1);
  EXPECT_EQ(defaultReportAssetsDir(), "/elsewhere/assets");
  const fs::path beside =
      fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "reports" / "assets";
  ASSERT_FALSE(fs::exists(beside)) << beside;
  for (const bool empty : {true, false}) {
    if (empty) {
      ::setenv("FERLAB_REPORT_ASSETS", "", 1);
    } else {
      ::unsetenv("FERLAB_REPORT_ASSETS");
    }
    try {
      defaultReportAssetsDir();
      ADD_FAILURE() << "expected DataError";
    } catch (const DataError& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("not found: looked for " + beside.string()), std::string::npos)
          << message;
      EXPECT_NE(message.find("set FERLAB_REPORT_ASSETS"), std::string::npos) << message;
    }
  }
  if (saved != nullptr) ::setenv("FERLAB_REPORT_ASSETS", restore.c_str(), 1);
}

// Library code is inlined in <script> elements: text that would end the element (any case)
// or open an HTML comment inside it is rewritten, and source-map comments are dropped.
TEST_F(HtmlReportTest, InlinedLibrariesCannotEndTheirScriptElement) {
  const fs::path assets = dir_ / "fake-assets";
  fs::create_directories(assets);
  std::ofstream(assets / kBundle) << "const tag = \"</ScRiPt><!--\"; // " << kBundle
                                  << "\n//# sourceMappingURL=vega-bundle.js.map\n";
  ReportOptions options = options_;
  options.assets_dir = assets.string();
  const std::string html = renderHtmlReport(*store_, options);
  EXPECT_EQ(html.find("</ScRiPt>"), std::string::npos);
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  EXPECT_EQ(html.find("sourceMappingURL"), std::string::npos);
  EXPECT_EQ(countOf(html, "(function () {\nconst tag = \"\\x3C/ScRiPt>\\x3C!--\";"), 1);
  // No vega-bundle.json beside it: the versions are unknown, not an error.
  EXPECT_NE(section(html, "provenance").find("vega n/a, vega-lite n/a, vega-embed n/a"),
            std::string::npos);
}

// Versions come from vega-bundle.json and are escaped like any other text.
TEST_F(HtmlReportTest, BundleVersionsAreReadFromTheAssetsFolder) {
  const fs::path assets = dir_ / "versioned-assets";
  fs::create_directories(assets);
  std::ofstream(assets / kBundle) << "window.vegaEmbed = null;\n";
  std::ofstream(assets / kBundleVersions)
      << R"({"vega": "6.0.0", "vega-lite": "6.1.0<b>", "vega-embed": 7})";
  ReportOptions options = options_;
  options.assets_dir = assets.string();
  const std::string provenance = section(renderHtmlReport(*store_, options), "provenance");
  EXPECT_NE(provenance.find("vega 6.0.0, vega-lite 6.1.0&lt;b&gt;, vega-embed n/a"),
            std::string::npos)
      << provenance;
  EXPECT_NE(provenance.find("vl-convert-python n/a"), std::string::npos) << provenance;
}

TEST(EscapeHtml, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(escapeHtml("a & b"), "a &amp; b");
  EXPECT_EQ(escapeHtml("<b>"), "&lt;b&gt;");
  EXPECT_EQ(escapeHtml("say \"hi\" it's"), "say &quot;hi&quot; it&#39;s");
  EXPECT_EQ(escapeHtml("&lt;"), "&amp;lt;");  // not double-decoded: escaped again
  EXPECT_EQ(escapeHtml("grid[lr=0.001,name=vggnet]"), "grid[lr=0.001,name=vggnet]");
}

TEST(Base64, MatchesRfc4648TestVectors) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode(std::string("\xff\x00\x10", 3)), "/wAQ");
}

TEST(Charts, ConfusionMatrixNormalisesRowsAndChecksSize) {
  const nlohmann::json spec = confusionMatrixSpec("run", {"a", "b"}, {3, 1, 0, 0}, true);
  const auto& cells = spec["data"]["values"];
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_DOUBLE_EQ(cells[0]["value"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(cells[1]["value"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(cells[3]["value"].get<double>(), 0.0);  // an empty row stays 0
  EXPECT_EQ(cells[0]["count"], 3);
  EXPECT_EQ(spec["$schema"], "https://vega.github.io/schema/vega-lite/v6.json");
  EXPECT_THROW(confusionMatrixSpec("run", {"a", "b"}, {1, 2, 3}), std::invalid_argument);
  const nlohmann::json counts = confusionMatrixSpec("run", {"a", "b"}, {3, 1, 0, 0}, false);
  EXPECT_DOUBLE_EQ(counts["data"]["values"][0]["value"].get<double>(), 3.0);
}

TEST(Charts, ComparisonDrawsErrorBarsOnlyWhereAnIntervalIsGiven) {
  const nlohmann::json spec =
      comparisonSpec({{"a", 0.6, 0.55, 0.65}, {"b", 0.5, std::nullopt, std::nullopt}}, "acc");
  const auto& rows = spec["data"]["values"];
  EXPECT_DOUBLE_EQ(rows[0]["low"].get<double>(), 0.55);
  EXPECT_FALSE(rows[1].contains("low"));
  EXPECT_EQ(spec["layer"][0]["mark"]["type"], "bar");
  EXPECT_EQ(spec["layer"][1]["mark"]["type"], "rule");
  EXPECT_EQ(spec["layer"][1]["transform"][0]["filter"], "isValid(datum.low)");
}

TEST(Charts, LearningCurvesTakePhaseStartsFromEpochsWithoutPhaseRecords) {
  CurveRun run{"r", "id", "", {makeEpoch(1, 2), makeEpoch(2, 2), makeEpoch(3, 2)}, {}};
  const nlohmann::json spec = learningCurvesSpec({run}, CurveMetric::Accuracy);
  EXPECT_EQ(spec["layer"][0]["data"]["values"].size(), 6u);
  EXPECT_EQ(spec["layer"][0]["encoding"]["y"]["field"], "accuracy");
  ASSERT_EQ(spec["layer"][1]["data"]["values"].size(), 1u);
  EXPECT_EQ(spec["layer"][1]["data"]["values"][0]["epoch"], 2);
  EXPECT_EQ(spec["layer"][1]["data"]["values"][0]["phase"], "fine_tune");
}

}  // namespace
}  // namespace ferlab::report
