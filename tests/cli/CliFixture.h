#pragma once
// A tracking store of fake runs for end-to-end tests of the `ferlab` binary (FERLAB_BINARY):
// experiment "grid" with two finished runs (epochs with class counts, phases, split metrics
// with confusion matrices, PublicTest and PrivateTest predictions) and one failed run, and
// experiment "other" with one finished run whose name needs CSV quoting. No LibTorch: the
// store is written with SqliteStore directly.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "framework/tracking/SqliteStore.h"
#include "tests/FerlabProcess.h"

namespace ferlab::clitest {

namespace fs = std::filesystem;

using e2e::CommandResult;
using e2e::runFerlab;

inline std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

constexpr int kClasses = 7;
constexpr int kTestSamples = 40;
inline const std::vector<std::string> kClassNames = {"Angry", "Disgust",  "Fear",   "Happy",
                                                     "Sad",   "Surprise", "Neutral"};
/// A run name that needs RFC 4180 quoting (comma, double quote).
inline const std::string kAwkwardName = "other[note=\"a, b\"]";

class CliStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("ferlab-cli-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    tracking::SqliteStore store(db());
    store.ensureExperiment("grid", "experiments/grid.toml", {"train.lr"});
    addFinished(store, "c00000000001", "grid", "grid[lr=0.001]", "0.001", 3, 31);
    addFinished(store, "c00000000002", "grid", "grid[lr=0.01]", "0.01", 2, 24);
    addFailed(store, "c00000000003", "grid", "grid[lr=1]", "1");
    store.ensureExperiment("other", "experiments/other.toml", {"train.lr"});
    addFinished(store, "d00000000001", "other", kAwkwardName, "0.001", 1, 20);
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static std::string db() { return (dir_ / "ferlab.db").string(); }
  static std::string dbArg() { return " --db " + db(); }

  static tracking::RunRecord makeRun(const std::string& id, const std::string& experiment,
                                     const std::string& name, const std::string& lr) {
    tracking::RunRecord run;
    run.id = id;
    run.experiment = experiment;
    run.name = name;
    run.config_json = "{}";
    run.config_hash = id + "ffff";
    run.backbone = "vggnet";
    run.seed = 7;
    run.params = {{"model.name", "vggnet"}, {"train.epochs", "3"}, {"train.lr", lr}};
    run.grid_values = {{"train.lr", lr}};
    run.git_commit = "0123456789abcdef0123456789abcdef01234567";
    run.device = "cpu";
    return run;
  }

  static void addEpochs(tracking::SqliteStore& store, const std::string& id, int epochs) {
    tracking::RunSummary summary;
    for (int n = 1; n <= epochs; ++n) {
      tracking::EpochRecord epoch;
      epoch.epoch = n;
      epoch.phase = n == 1 ? "head" : "finetune";
      epoch.train_loss = 2.0 - 0.2 * n;
      epoch.val_loss = 2.1 - 0.15 * n;
      epoch.train_accuracy = 0.3 + 0.05 * n;
      epoch.val_accuracy = 0.28 + 0.04 * n;
      epoch.val_macro_f1 = 0.25 + 0.04 * n;
      epoch.lr = 1e-3;
      epoch.images_per_sec = 5000;
      epoch.seconds = 2.5;
      epoch.class_counts = {100, 10, 90, 120, 95, 80, 105};
      summary.best_epoch = summary.last_epoch = n;
      summary.best_val_accuracy = summary.last_val_accuracy = epoch.val_accuracy;
      store.recordEpoch(id, epoch, summary);
    }
    store.recordPhase(id, {0, "head", 1, 1, 1000, 5000});
    if (epochs > 1) store.recordPhase(id, {1, "finetune", 2, epochs - 1, 5000, 5000});
  }

  // Predictions right on `right` of the kTestSamples samples.
  static std::vector<tracking::Prediction> makePredictions(int right) {
    std::vector<tracking::Prediction> predictions;
    for (int i = 0; i < kTestSamples; ++i) {
      tracking::Prediction p;
      p.sample_index = i;
      p.sample_id = "PrivateTest/" + std::to_string(i) + ".png";
      p.label = i % kClasses;
      p.predicted = i < right ? p.label : (p.label + 1) % kClasses;
      p.probabilities.assign(kClasses, 0.05f);
      p.probabilities[p.predicted] = 0.7f;
      predictions.push_back(p);
    }
    return predictions;
  }

  static tracking::SplitMetrics splitOf(const std::string& name,
                                        const std::vector<tracking::Prediction>& predictions) {
    tracking::SplitMetrics split;
    split.split = name;
    split.confusion.assign(kClasses * kClasses, 0);
    for (const auto& p : predictions) {
      ++split.confusion[p.label * kClasses + p.predicted];
      split.accuracy += (p.label == p.predicted) / static_cast<double>(predictions.size());
    }
    for (const auto& class_name : kClassNames)
      split.classes.push_back({class_name, 0.5, 0.5, 0.5, 6});
    return split;
  }

  static void addFinished(tracking::SqliteStore& store, const std::string& id,
                          const std::string& experiment, const std::string& name,
                          const std::string& lr, int epochs, int right) {
    const auto run = makeRun(id, experiment, name, lr);
    store.ensureRun(run);
    store.markRunning(run);
    addEpochs(store, id, epochs);
    const auto predictions = makePredictions(right);
    tracking::RunSummary summary;
    summary.best_epoch = summary.last_epoch = epochs;
    summary.best_val_accuracy = 0.5;
    summary.test_accuracy = right / static_cast<double>(kTestSamples);
    summary.test_macro_f1 = summary.test_accuracy - 0.05;
    summary.duration_s = 75;
    store.finishRun(id, summary,
                    {splitOf("PublicTest", predictions), splitOf("PrivateTest", predictions)},
                    {{"PublicTest", predictions}, {"PrivateTest", predictions}});
  }

  static void addFailed(tracking::SqliteStore& store, const std::string& id,
                        const std::string& experiment, const std::string& name,
                        const std::string& lr) {
    const auto run = makeRun(id, experiment, name, lr);
    store.ensureRun(run);
    store.markRunning(run);
    addEpochs(store, id, 1);
    store.failRun(id, "loss is NaN");
  }

  static inline fs::path dir_;
};

}  // namespace ferlab::clitest
