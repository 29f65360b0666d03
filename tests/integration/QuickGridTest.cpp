// End to end: the `ferlab` binary trains a 2-run grid on a stratified subset of the real
// FER2013, records it, skips it on a second invocation, resumes a killed run, shows, lists
// and reports it, and rejects bad input with the documented exit codes.

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "framework/tracking/SqliteStore.h"
#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using e2e::CommandResult;
using e2e::runFerlab;

class QuickGridTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("ferlab_integration_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  // An experiment file on the real data with the given extra TOML appended.
  static std::string writeConfig(const std::string& name, const std::string& extra) {
    const auto path = root_ / (name + ".toml");
    std::ofstream(path) << "name = \"" << name << "\"\n"
                        << "[data]\npath = \"" << FERLAB_TEST_DATA << "/fer2013\"\n"
                        << "cache_dir = \"" << (root_ / "cache").string() << "\"\n"
                        << extra;
    return path.string();
  }
  static std::string storeArgs() {
    return " --db " + (root_ / "ferlab.db").string() + " --results " + (root_ / "results").string();
  }

  static fs::path root_;
};
fs::path QuickGridTest::root_;

// Two runs of two epochs on 20% of FER2013 (5,742 training images); measured PrivateTest
// accuracy about 37% against a 24.5% majority class.
constexpr const char* kGridToml = R"(subset = 0.2
eval_subset = 0.2  # a smoke test: thinned PublicTest/PrivateTest
[model]
name = "simple_cnn"
batch_norm = true
[train]
epochs = 2
seed = 1
[grid]
"augment.hflip" = [0.0, 0.5]
)";

TEST_F(QuickGridTest, TrainsRecordsSkipsShowsListsAndReports) {
  const auto config = writeConfig("itest", kGridToml);
  const auto first = runFerlab("run " + config + storeArgs());
  ASSERT_EQ(first.exit_code, 0) << first.output;

  const tracking::SqliteStore store((root_ / "ferlab.db").string());
  const auto runs = store.listRuns("itest");
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.record.status, tracking::RunStatus::Finished) << run.record.error;
    EXPECT_EQ(store.epochs(run.record.id).size(), 2u);
    EXPECT_EQ(run.record.backbone, "simple_cnn");
    EXPECT_FALSE(run.record.git_commit.empty());
    EXPECT_FALSE(run.record.torch_version.empty());
    EXPECT_FALSE(run.record.opencv_version.empty());

    // The protocol: both splits evaluated on the selected checkpoint, with predictions.
    const auto test = store.predictions(run.record.id, "PrivateTest");
    const auto validation = store.predictions(run.record.id, "PublicTest");
    ASSERT_GT(test.size(), 700u);
    EXPECT_GT(validation.size(), 700u);
    std::vector<std::int64_t> counts(7, 0);
    std::int64_t correct = 0;
    for (const auto& prediction : test) {
      ++counts[static_cast<std::size_t>(prediction.label)];
      correct += prediction.label == prediction.predicted;
      ASSERT_EQ(prediction.probabilities.size(), 7u);
    }
    const double majority =
        static_cast<double>(*std::max_element(counts.begin(), counts.end())) / test.size();
    const double accuracy = static_cast<double>(correct) / test.size();
    EXPECT_NEAR(run.summary.test_accuracy, accuracy, 1e-9);
    EXPECT_GT(run.summary.test_accuracy, majority + 0.02)
        << "PrivateTest accuracy must beat always predicting the majority class";

    const auto splits = store.splitMetrics(run.record.id);
    ASSERT_EQ(splits.size(), 2u);
    std::int64_t confusion_total = 0;
    for (const auto& split : splits) {
      if (split.split != "PrivateTest") continue;
      for (const auto count : split.confusion) confusion_total += count;
    }
    EXPECT_EQ(confusion_total, static_cast<std::int64_t>(test.size()));
  }

  // A second invocation skips both finished runs and trains nothing.
  const auto second = runFerlab("run " + config + storeArgs());
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("2 skipped"), std::string::npos) << second.output;
  EXPECT_EQ(second.output.find("epoch 1/2"), std::string::npos) << second.output;

  // ls --json: the documented fields, the grid's param, and the finished metrics.
  const auto listed = runFerlab("ls --json --db " + (root_ / "ferlab.db").string());
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  const auto array = json::parse(listed.output);
  ASSERT_EQ(array.size(), 2u);
  for (const auto& run : array) {
    for (const char* key : {"id", "name", "status", "backbone", "val_accuracy", "test_accuracy",
                            "test_macro_f1", "images_per_sec", "duration_s", "params"}) {
      EXPECT_TRUE(run.contains(key)) << key;
    }
    EXPECT_EQ(run["status"], "finished");
    EXPECT_TRUE(run["grid"].contains("augment.hflip"));
    EXPECT_GT(run["images_per_sec"].get<double>(), 0.0);
  }

  const auto id = runs[0].record.id;
  const auto shown =
      runFerlab("show " + id.substr(0, 6) + " --db " + (root_ / "ferlab.db").string());
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_NE(shown.output.find("PrivateTest confusion matrix"), std::string::npos);
  EXPECT_NE(shown.output.find("\"hflip\""), std::string::npos);  // the resolved config

  const auto report_path = (root_ / "report.html").string();
  const auto reported = runFerlab("report --experiment itest -o " + report_path + " --db " +
                                  (root_ / "ferlab.db").string());
  ASSERT_EQ(reported.exit_code, 0) << reported.output;
  std::stringstream html;
  html << std::ifstream(report_path).rdbuf();
  EXPECT_NE(html.str().find(runs[1].record.id), std::string::npos);
}

TEST_F(QuickGridTest, KilledRunResumesFromItsLastCheckpoint) {
  const auto config = writeConfig("resume", R"(subset = 0.05
eval_subset = 0.05  # a smoke test: thinned PublicTest/PrivateTest
[train]
epochs = 3
seed = 2
)");
  const auto db = (root_ / "ferlab.db").string();
  const auto pid_file = (root_ / "pid").string();
  std::system(("sh -c '" + std::string(FERLAB_BINARY) + " run " + config + storeArgs() + " > " +
               (root_ / "killed.log").string() + " 2>&1 & echo $! > " + pid_file + "'")
                  .c_str());
  pid_t pid = 0;
  std::ifstream(pid_file) >> pid;
  ASSERT_GT(pid, 0);

  // Kill it (no chance to clean up) once its first epoch is in the store and in last.pt
  // (the trainer records an epoch first and checkpoints it right after).
  bool epoch_checkpointed = false;
  for (int attempt = 0; attempt < 1200 && !epoch_checkpointed; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!fs::exists(db)) continue;
    const tracking::SqliteStore store(db);
    const auto runs = store.listRuns("resume");
    epoch_checkpointed = !runs.empty() && !store.epochs(runs[0].record.id).empty() &&
                         fs::exists(root_ / "results" / "runs" / runs[0].record.id / "last.pt");
  }
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(epoch_checkpointed) << "the first epoch was never checkpointed";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  {
    const tracking::SqliteStore store(db);
    const auto runs = store.listRuns("resume");
    ASSERT_EQ(runs.size(), 1u);
    ASSERT_EQ(runs[0].record.status, tracking::RunStatus::Running);  // interrupted, not finished
  }
  // The killed attempt's epoch 1 counts toward the run's duration. Recording it as an hour makes
  // that visible: the resumed attempt alone takes seconds.
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    const int rc = sqlite3_exec(raw, "UPDATE epochs SET seconds = 3600 WHERE epoch = 1", nullptr,
                                nullptr, nullptr);
    sqlite3_close(raw);
    ASSERT_EQ(rc, SQLITE_OK);
  }
  const auto resume_start = std::chrono::steady_clock::now();
  const auto resumed = runFerlab("run " + config + storeArgs());
  const double resumed_wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - resume_start).count();
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  EXPECT_EQ(resumed.output.find("epoch 1/3"), std::string::npos)
      << "epoch 1 must not be trained again";

  const tracking::SqliteStore store(db);
  const auto run = store.listRuns("resume").at(0);
  EXPECT_EQ(run.record.status, tracking::RunStatus::Finished);
  const auto epochs = store.epochs(run.record.id);
  ASSERT_EQ(epochs.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(epochs[static_cast<std::size_t>(i)].epoch, i + 1);
  // duration = the epochs kept from the killed attempt + the resumed attempt's wall time.
  double epochs_s = 0;
  for (const auto& epoch : epochs) epochs_s += epoch.seconds;
  EXPECT_DOUBLE_EQ(epochs[0].seconds, 3600);
  EXPECT_GE(run.summary.duration_s, epochs_s);
  EXPECT_LE(run.summary.duration_s, epochs_s + resumed_wall_s);

  // data.eval_subset < 1: every view of the run says its numbers are not comparable.
  const auto listed = runFerlab("ls --experiment resume --db " + db);
  EXPECT_NE(listed.output.find("* evaluated on a thinned PublicTest/PrivateTest"),
            std::string::npos)
      << listed.output;
  const auto shown = runFerlab("show " + run.record.id + " --db " + db);
  EXPECT_NE(shown.output.find("NOT COMPARABLE with published results"), std::string::npos)
      << shown.output;
}

// Transfer learning end to end: a torchvision ResNet-18 weight file (randomly initialised by
// the pinned torchvision in .venv, nothing downloaded), a new head, and a freeze-then-fine-tune
// schedule whose two phases land in the store, in `ferlab show` and in the report; and the same
// backbone without weights, which must say loudly that it is not pretrained.
TEST_F(QuickGridTest, FreezeThenFineTuneRecordsBothPhases) {
  const auto weights = root_ / "resnet18.pth";
  const std::string save_weights =
      std::string(FERLAB_SOURCE_DIR) +
      "/.venv/bin/python -c \"import torch, torchvision; torch.manual_seed(0); "
      "torch.save(torchvision.models.resnet18().state_dict(), '" +
      weights.string() + "')\"";
  ASSERT_EQ(std::system(save_weights.c_str()), 0);
  const auto config = writeConfig("transfer", R"(subset = 0.02
eval_subset = 0.02  # a smoke test: thinned PublicTest/PrivateTest
[model]
name = "resnet18"
input_size = 64
[[model.head]]
units = 128
dropout = 0.5
[[train.phases]]
name = "head"
epochs = 1
trainable = "head"
[[train.phases]]
name = "fine_tune"
epochs = 1
trainable = "layer4"
lr_mult = 0.1
)");
  const auto db = (root_ / "ferlab.db").string();
  const auto with_weights = runFerlab("run " + config + " --set model.weights='\"" +
                                      weights.string() + "\"'" + storeArgs());
  ASSERT_EQ(with_weights.exit_code, 0) << with_weights.output;
  EXPECT_NE(with_weights.output.find("loaded 120 tensors into resnet18; skipped from the file (not "
                                     "part of the backbone): fc.weight, fc.bias"),
            std::string::npos)
      << with_weights.output;
  const auto without_weights = runFerlab("run " + config + storeArgs());
  ASSERT_EQ(without_weights.exit_code, 0) << without_weights.output;
  EXPECT_NE(without_weights.output.find("RANDOM initialisation (pretrained = false)"),
            std::string::npos);

  const tracking::SqliteStore store(db);
  const auto runs = store.listRuns("transfer");
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.record.status, tracking::RunStatus::Finished) << run.record.error;
    const auto phases = store.phases(run.record.id);
    ASSERT_EQ(phases.size(), 2u);
    EXPECT_EQ(phases[0].name, "head");
    EXPECT_LT(phases[0].trainable_params, phases[1].trainable_params);
    EXPECT_LT(phases[1].trainable_params, phases[1].total_params);  // layers 1-3 stay frozen
    const auto epochs = store.epochs(run.record.id);
    ASSERT_EQ(epochs.size(), 2u);
    EXPECT_EQ(epochs[0].phase, "head");
    EXPECT_EQ(epochs[1].phase, "fine_tune");
  }
  EXPECT_EQ(runs[0].record.pretrained + runs[1].record.pretrained, 1);  // one of each

  const auto shown = runFerlab("show " + runs[0].record.id + " --db " + db);
  EXPECT_NE(shown.output.find("fine_tune"), std::string::npos) << shown.output;
  EXPECT_NE(shown.output.find("TRAINABLE"), std::string::npos) << shown.output;
  const auto report_path = (root_ / "transfer.html").string();
  ASSERT_EQ(runFerlab("report --experiment transfer -o " + report_path + " --db " + db).exit_code,
            0);
  std::stringstream html;
  html << std::ifstream(report_path).rdbuf();
  EXPECT_NE(html.str().find("\"phase_start\":true"), std::string::npos);
}

TEST_F(QuickGridTest, BadInputGetsOneClearErrorAndTheDocumentedExitCode) {
  const auto bad_key = writeConfig("badkey", "[train]\nlr = 0.1\nepochz = 3\n");
  const auto config_error = runFerlab("run " + bad_key + storeArgs());
  EXPECT_EQ(config_error.exit_code, 2);
  EXPECT_NE(config_error.output.find("badkey.toml:7:1"), std::string::npos) << config_error.output;
  EXPECT_NE(config_error.output.find("epochz"), std::string::npos);

  const auto bad_set = runFerlab("run " + bad_key + " --set train.lr=fast" + storeArgs());
  EXPECT_EQ(bad_set.exit_code, 2) << bad_set.output;

  const auto syntax_error = writeConfig("syntax", "[data]\n");  // [data] twice: invalid TOML
  const auto syntax = runFerlab("run " + syntax_error + storeArgs());
  EXPECT_EQ(syntax.exit_code, 2) << syntax.output;
  EXPECT_NE(syntax.output.find("syntax.toml:"), std::string::npos) << syntax.output;

  const auto bad_path = root_ / "badpath.toml";
  std::ofstream(bad_path) << "[data]\npath = \"/nonexistent/fer2013\"\n[train]\nepochs = 1\n";
  const auto data_error = runFerlab("run " + bad_path.string() + storeArgs());
  EXPECT_EQ(data_error.exit_code, 1) << data_error.output;
  EXPECT_NE(data_error.output.find("/nonexistent/fer2013"), std::string::npos) << data_error.output;

  EXPECT_EQ(runFerlab("frobnicate").exit_code, 2);
  EXPECT_EQ(runFerlab("run").exit_code, 2);
  EXPECT_EQ(runFerlab("ls --bogus").exit_code, 2);
  EXPECT_EQ(runFerlab("run --help").exit_code, 0);
  const auto unknown_run = runFerlab("show ffffffffffff --db " + (root_ / "ferlab.db").string());
  EXPECT_EQ(unknown_run.exit_code, 1);
  EXPECT_NE(unknown_run.output.find("ffffffffffff"), std::string::npos);
}

}  // namespace
}  // namespace ferlab
