#include "framework/report/HtmlReport.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "framework/core/Errors.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::report {
namespace {

namespace fs = std::filesystem;
using tracking::EpochRecord;
using tracking::RunRecord;
using tracking::RunSummary;
using tracking::SplitMetrics;

const std::string kHostileName = "<script>alert(1)</script>";
const std::string kAssetsDir = std::string(FERLAB_SOURCE_DIR) + "/node_modules";
const std::vector<std::string> kLibraries = {"vega/build/vega.min.js",
                                             "vega-lite/build/vega-lite.min.js",
                                             "vega-embed/build/vega-embed.min.js"};

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

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

RunRecord makeRun(const std::string& id, const std::string& name, const std::string& backbone,
                  const std::string& lr) {
  RunRecord run;
  run.id = id;
  run.experiment = "grid";
  run.name = name;
  run.config_json = "{}";
  run.config_hash = id + "0000";
  run.backbone = backbone;
  run.params = {{"model.name", backbone}, {"train.epochs", "3"}, {"train.lr", lr}};
  run.grid_values = {{"train.lr", lr}};
  run.git_commit = "0123456789abcdef0123456789abcdef01234567";
  run.device = "cpu";
  return run;
}

// Epoch n of a run whose losses start at `first_loss`; distinctive values so the chart data
// can be checked by value.
EpochRecord makeEpoch(int n, double first_loss) {
  EpochRecord epoch;
  epoch.epoch = n;
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

class HtmlReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The chart libraries come from npm; CI runs scripts/setup.sh before the tests.
    ASSERT_TRUE(fs::exists(kAssetsDir + "/" + kLibraries[0]))
        << kAssetsDir << " lacks the chart libraries: run scripts/setup.sh (or "
        << "scripts/install_report_assets.sh) to install them before running test_report";
    std::random_device random;
    dir_ = fs::temp_directory_path() / ("ferlab-report-test-" + std::to_string(random()));
    fs::create_directories(dir_);
    store_ = std::make_unique<tracking::SqliteStore>((dir_ / "ferlab.db").string());
    store_->ensureExperiment("grid", "experiments/grid.toml", {"train.lr"});
    addFinished("a00000000001", "grid[lr=0.001]", "vggnet", "0.001", 3, 2.0, 0.6125);
    addFinished("a00000000002", "grid[lr=0.01]", "simple_cnn", "0.01", 3, 1.9, 0.5875);
    addFinished("a00000000003", kHostileName, "simple_cnn", "0.1", 2, 1.8, 0.4375);
    addFailed("a00000000004", "grid[lr=1]", "1");
    addRunning("a00000000005", "grid[lr=0.0001]", "0.0001");
    options_.assets_dir = kAssetsDir;
    html_ = renderHtmlReport(*store_, options_);
  }

  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  RunRecord start(const RunRecord& run) {
    const RunRecord stored = store_->ensureRun(run);
    store_->markRunning(run);
    return stored;
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

  void addFinished(const std::string& id, const std::string& name, const std::string& backbone,
                   const std::string& lr, int epochs, double first_loss, double test_accuracy) {
    start(makeRun(id, name, backbone, lr));
    addEpochs(id, epochs, first_loss);
    RunSummary summary;
    summary.best_epoch = summary.last_epoch = epochs;
    summary.best_val_accuracy = summary.last_val_accuracy = 0.28 + 0.04 * epochs;
    summary.test_accuracy = test_accuracy;
    summary.test_macro_f1 = test_accuracy - 0.05;
    summary.images_per_sec = 4321;
    summary.duration_s = 75;
    SplitMetrics validation{"PublicTest", 1.2, summary.best_val_accuracy, 0.5, {}, {}};
    SplitMetrics test{"PrivateTest", 1.1, test_accuracy, test_accuracy - 0.05, {}, {}};
    store_->finishRun(id, summary, {validation, test}, {});
  }

  void addFailed(const std::string& id, const std::string& name, const std::string& lr) {
    start(makeRun(id, name, "vggnet", lr));
    addEpochs(id, 1, 2.2);
    store_->failRun(id, "loss is NaN at epoch 2 <diverged>");
  }

  void addRunning(const std::string& id, const std::string& name, const std::string& lr) {
    start(makeRun(id, name, "vggnet", lr));
  }

  std::string table() const { return between(html_, "<table id=\"runs\">", "</table>"); }

  nlohmann::json scriptBlock(const std::string& id) const {
    const std::string text =
        between(html_, "<script type=\"application/json\" id=\"" + id + "\">", "</script>");
    return nlohmann::json::parse(text);
  }

  fs::path dir_;
  std::unique_ptr<tracking::SqliteStore> store_;
  ReportOptions options_;
  std::string html_;
};

TEST_F(HtmlReportTest, HeaderStatesRunCountCommitAndProtocol) {
  EXPECT_NE(html_.find("<title>FERLab report</title>"), std::string::npos);
  EXPECT_NE(html_.find("5 runs"), std::string::npos);
  EXPECT_NE(html_.find("0123456789abcdef0123456789abcdef01234567"), std::string::npos);
  EXPECT_NE(html_.find("Runs are selected on PublicTest (validation); PrivateTest (test) is "
                       "evaluated once per run on the checkpoint chosen by validation, and never "
                       "used for selection."),
            std::string::npos);
}

TEST_F(HtmlReportTest, TableListsEveryRunWithStatus) {
  const std::string rows = table();
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(countOf(rows, "<tr class=\"status-"), 5);
  for (const char* id :
       {"a00000000001", "a00000000002", "a00000000003", "a00000000004", "a00000000005"}) {
    EXPECT_NE(rows.find(id), std::string::npos) << id;
  }
  EXPECT_NE(rows.find("grid[lr=0.001]"), std::string::npos);
  EXPECT_EQ(countOf(rows, "<tr class=\"status-finished\">"), 3);
  EXPECT_EQ(countOf(rows, "<tr class=\"status-failed\">"), 1);
  EXPECT_EQ(countOf(rows, "<tr class=\"status-running\">"), 1);
  EXPECT_NE(rows.find("61.25%"), std::string::npos);  // test accuracy of the first run
  EXPECT_NE(rows.find("1:15"), std::string::npos);    // 75 s duration
  // The failure message is the status cell's tooltip, escaped as an attribute value.
  EXPECT_NE(rows.find("title=\"loss is NaN at epoch 2 &lt;diverged&gt;\""), std::string::npos);
}

TEST_F(HtmlReportTest, UnknownValuesRenderAsDash) {
  const std::string running = between(table(), "<tr class=\"status-running\">", "</tr>");
  ASSERT_FALSE(running.empty());
  // No epochs and no test metrics: best val, test acc, test F1, images/s, duration.
  EXPECT_EQ(countOf(running, "data-sort=\"\">\u2014</td>"), 5);
  const std::string failed = between(table(), "<tr class=\"status-failed\">", "</tr>");
  EXPECT_NE(failed.find("32.00%"), std::string::npos);  // best val of its one epoch
  EXPECT_GE(countOf(failed, "\u2014</td>"), 2);         // no test metrics
}

TEST_F(HtmlReportTest, HostileRunNameAppearsOnlyEscaped) {
  EXPECT_EQ(html_.find("<script>alert(1)"), std::string::npos);
  EXPECT_EQ(html_.find("alert(1)</script>"), std::string::npos);
  EXPECT_NE(table().find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  // In the chart data it is JSON with "<" escaped, and JSON.parse restores the name.
  EXPECT_NE(html_.find("\\u003cscript>alert(1)\\u003c/script>"), std::string::npos);
  bool found = false;
  for (const auto& row : scriptBlock("ferlab-epochs")) found |= row["run"] == kHostileName;
  EXPECT_TRUE(found);
}

TEST_F(HtmlReportTest, PageIsSelfContained) {
  EXPECT_EQ(html_.find("<script src"), std::string::npos);
  EXPECT_EQ(html_.find("<link"), std::string::npos);
  EXPECT_EQ(html_.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html_.find("href=\"http"), std::string::npos);
  EXPECT_EQ(html_.find("sourceMappingURL"), std::string::npos);
  EXPECT_NE(html_.find("actions: false"), std::string::npos);
}

TEST_F(HtmlReportTest, ChartLibrariesAreInlined) {
  for (const std::string& library : kLibraries) {
    const std::string code = readFile(kAssetsDir + "/" + library);
    ASSERT_GT(code.size(), 1000u) << library;
    EXPECT_NE(html_.find(code.substr(0, 300)), std::string::npos) << library;
  }
  // The UMD globals the page script uses.
  EXPECT_NE(html_.find(".vegaEmbed="), std::string::npos);
  EXPECT_NE(html_.find("vegaEmbed('#' + id"), std::string::npos);
}

TEST_F(HtmlReportTest, ChartDataHoldsEveryEpochOfEveryRun) {
  const nlohmann::json rows = scriptBlock("ferlab-epochs");
  // 3 + 3 + 2 + 1 epochs, one train and one validation row each; the running run has none.
  ASSERT_EQ(rows.size(), 2u * 9u);
  bool found = false;
  for (const auto& row : rows) {
    if (row["run"] == "grid[lr=0.01]" && row["epoch"] == 2 && row["split"] == "validation") {
      EXPECT_DOUBLE_EQ(row["loss"].get<double>(), makeEpoch(2, 1.9).val_loss);
      EXPECT_DOUBLE_EQ(row["accuracy"].get<double>(), makeEpoch(2, 1.9).val_accuracy);
      found = true;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_NE(html_.find("No epochs recorded: grid[lr=0.0001]"), std::string::npos);
}

TEST_F(HtmlReportTest, ChartsAreVegaLiteWithLegendToggle) {
  const nlohmann::json specs = scriptBlock("ferlab-specs");
  ASSERT_TRUE(specs.contains("chart-loss"));
  ASSERT_TRUE(specs.contains("chart-accuracy"));
  for (const auto& [id, spec] : specs.items()) {
    EXPECT_EQ(spec["data"]["name"], "epochs") << id;
    ASSERT_EQ(spec["layer"].size(), 2u) << id;
    const auto& curves = spec["layer"][0];
    EXPECT_EQ(curves["encoding"]["color"]["field"], "run") << id;
    EXPECT_EQ(curves["encoding"]["strokeDash"]["field"], "split") << id;
    EXPECT_TRUE(curves["encoding"]["tooltip"].is_array()) << id;
    const auto& param = curves["params"][0];
    EXPECT_EQ(param["select"]["type"], "point") << id;
    EXPECT_EQ(param["select"]["fields"][0], "run") << id;
    EXPECT_EQ(param["bind"], "legend") << id;
    EXPECT_EQ(curves["encoding"]["opacity"]["condition"]["param"], param["name"]) << id;
    // The second layer marks where freeze / fine-tune phases begin.
    const auto& rules = spec["layer"][1];
    EXPECT_EQ(rules["mark"]["type"], "rule") << id;
    EXPECT_NE(rules["transform"][0]["filter"].get<std::string>().find("phase_start"),
              std::string::npos);
  }
  EXPECT_EQ(specs["chart-loss"]["layer"][0]["encoding"]["y"]["field"], "loss");
  EXPECT_EQ(specs["chart-accuracy"]["layer"][0]["encoding"]["y"]["field"], "accuracy");
}

TEST_F(HtmlReportTest, TableShowsOnlyParamsThatVary) {
  const std::string head = between(table(), "<thead>", "</thead>");
  EXPECT_NE(head.find(">train.lr</th>"), std::string::npos);
  EXPECT_EQ(head.find(">train.epochs</th>"), std::string::npos);  // 3 everywhere
  EXPECT_EQ(head.find(">model.name</th>"), std::string::npos);    // the backbone column
  EXPECT_NE(head.find(">backbone</th>"), std::string::npos);
  EXPECT_NE(table().find("<td data-sort=\"0.0001\">0.0001</td>"), std::string::npos);
}

TEST_F(HtmlReportTest, RunIdsSelectEachRunOnce) {
  ReportOptions options = options_;
  options.run_ids = {"a00000000002", "a00000000002"};
  const std::string html = renderHtmlReport(*store_, options);
  const std::string rows = between(html, "<tbody>", "</tbody>");
  EXPECT_EQ(countOf(rows, "<tr "), 1);
  EXPECT_NE(rows.find("grid[lr=0.01]"), std::string::npos);
  EXPECT_NE(html.find("1 run "), std::string::npos);
}

TEST_F(HtmlReportTest, ExperimentWithoutRunsRendersAnEmptyPage) {
  ReportOptions options = options_;
  options.experiment = "no-such-experiment";
  const std::string html = renderHtmlReport(*store_, options);
  EXPECT_NE(html.find("0 runs"), std::string::npos);
  EXPECT_NE(html.find("No runs match."), std::string::npos);
  EXPECT_NE(html.find("No epochs recorded yet."), std::string::npos);
  EXPECT_EQ(html.find("id=\"ferlab-specs\""), std::string::npos);
}

TEST_F(HtmlReportTest, UnknownRunIdThrowsStoreError) {
  ReportOptions options = options_;
  options.run_ids = {"ffffffffffff"};
  EXPECT_THROW(renderHtmlReport(*store_, options), StoreError);
  options.run_ids = {"a0000"};  // a prefix of every run
  EXPECT_THROW(renderHtmlReport(*store_, options), StoreError);
}

TEST_F(HtmlReportTest, MissingLibraryThrowsDataErrorNamingSetup) {
  ReportOptions options = options_;
  options.assets_dir = (dir_ / "no-node-modules").string();
  try {
    renderHtmlReport(*store_, options);
    FAIL() << "expected DataError";
  } catch (const DataError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("no-node-modules/vega/build/vega.min.js not found"), std::string::npos)
        << message;
    EXPECT_NE(message.find("run scripts/setup.sh"), std::string::npos) << message;
  }
}

// Library code is inlined in <script> elements: text that would end the element (any case)
// or open an HTML comment inside it is rewritten, and source-map comments are dropped.
TEST_F(HtmlReportTest, InlinedLibrariesCannotEndTheirScriptElement) {
  const fs::path assets = dir_ / "fake-node-modules";
  for (const std::string& library : kLibraries) {
    fs::create_directories((assets / library).parent_path());
    std::ofstream(assets / library) << "var tag = \"</ScRiPt><!--\"; // " << library
                                    << "\n//# sourceMappingURL=lib.min.js.map\n";
  }
  ReportOptions options = options_;
  options.assets_dir = assets.string();
  const std::string html = renderHtmlReport(*store_, options);
  EXPECT_EQ(html.find("</ScRiPt>"), std::string::npos);
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  EXPECT_EQ(html.find("sourceMappingURL"), std::string::npos);
  EXPECT_EQ(countOf(html, "var tag = \"\\x3C/ScRiPt>\\x3C!--\";"), 3);
}

TEST(EscapeHtml, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(escapeHtml("a & b"), "a &amp; b");
  EXPECT_EQ(escapeHtml("<b>"), "&lt;b&gt;");
  EXPECT_EQ(escapeHtml("say \"hi\" it's"), "say &quot;hi&quot; it&#39;s");
  EXPECT_EQ(escapeHtml("&lt;"), "&amp;lt;");  // not double-decoded: escaped again
}

TEST(EscapeHtml, LeavesOtherTextUnchanged) {
  EXPECT_EQ(escapeHtml(""), "");
  EXPECT_EQ(escapeHtml("grid[lr=0.001,name=vggnet]"), "grid[lr=0.001,name=vggnet]");
  EXPECT_EQ(escapeHtml("visage \u00e9tonn\u00e9 \u2014 \U0001F600"),
            "visage \u00e9tonn\u00e9 \u2014 \U0001F600");
}

}  // namespace
}  // namespace ferlab::report
