// A run killed (SIGKILL, FERLAB_KILL_AT: core/FaultPoint.h) at each point of an epoch's commit
// (train/Checkpoints.h) resumes to exactly the metrics of an uninterrupted run on the CPU:
// same epochs, same best epoch, same PrivateTest predictions.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "framework/tracking/SqliteStore.h"
#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;

// The decoded-dataset cache outlives the test processes (beside the binary), so each of them
// decodes FER2013 at most once; its writes are atomic, so parallel tests may share it.
fs::path sharedCache() {
  return fs::path(FERLAB_BINARY).parent_path() / "test-cache";
}

class CrashWindowTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("ferlab_crash_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    config_ = (root_ / "crash.toml").string();
    // 400 training images, a thin PublicTest/PrivateTest: a few seconds per run.
    std::ofstream(config_) << "name = \"crash\"\n[data]\npath = \"" << FERLAB_TEST_DATA
                           << "/fer2013\"\ncache_dir = \"" << sharedCache().string()
                           << "\"\nsubset = 400\neval_subset = 0.05\n"
                              "[model]\nbatch_norm = true\n"
                              "[augment]\nhflip = 0.5\n"
                              "[train]\nepochs = 3\nseed = 5\nlr = 0.002\n";
    reference_ = new Outcome(train("reference", ""));
  }
  static void TearDownTestSuite() {
    delete reference_;
    fs::remove_all(root_);
  }

  struct Outcome {
    int exit_code = 0;
    std::string output;
    std::vector<double> val_accuracy;  // per epoch
    int best_epoch = -1;
    double test_accuracy = -1;
    std::vector<std::int64_t> test_predicted;
    std::vector<float> test_probabilities;
  };

  static std::string storeArgs(const std::string& name) {
    return " --db " + (root_ / name / "ferlab.db").string() + " --results " +
           (root_ / name / "results").string();
  }

  /// Runs the experiment into its own store; `kill_at` = "" or "<point>:<epoch>".
  static Outcome train(const std::string& name, const std::string& kill_at) {
    fs::create_directories(root_ / name);
    const auto result = e2e::runFerlab("run " + config_ + storeArgs(name), true,
                                       kill_at.empty() ? "" : "FERLAB_KILL_AT=" + kill_at);
    Outcome outcome;
    outcome.exit_code = result.exit_code;
    outcome.output = result.output;
    const tracking::SqliteStore store((root_ / name / "ferlab.db").string());
    const auto runs = store.listRuns("crash");
    if (runs.size() != 1u || runs[0].record.status != tracking::RunStatus::Finished)
      return outcome;
    const auto& run = runs[0];
    for (const auto& epoch : store.epochs(run.record.id))
      outcome.val_accuracy.push_back(epoch.val_accuracy);
    outcome.best_epoch = run.summary.best_epoch;
    outcome.test_accuracy = run.summary.test_accuracy;
    for (const auto& prediction : store.predictions(run.record.id, "PrivateTest")) {
      outcome.test_predicted.push_back(prediction.predicted);
      outcome.test_probabilities.insert(outcome.test_probabilities.end(),
                                        prediction.probabilities.begin(),
                                        prediction.probabilities.end());
    }
    return outcome;
  }

  static void expectKilledThenResumedToTheReference(const std::string& kill_at) {
    const std::string name = "kill_" + std::to_string(++trial_);
    const Outcome killed = train(name, kill_at);
    EXPECT_EQ(killed.exit_code, -1) << kill_at << ": the run was not killed\n" << killed.output;
    EXPECT_TRUE(killed.val_accuracy.empty()) << kill_at << ": the killed run finished";
    const Outcome resumed = train(name, "");
    ASSERT_EQ(resumed.exit_code, 0) << kill_at << "\n" << resumed.output;
    EXPECT_EQ(resumed.val_accuracy, reference_->val_accuracy) << kill_at;
    EXPECT_EQ(resumed.best_epoch, reference_->best_epoch) << kill_at;
    EXPECT_EQ(resumed.test_accuracy, reference_->test_accuracy) << kill_at;
    EXPECT_EQ(resumed.test_predicted, reference_->test_predicted) << kill_at;
    EXPECT_EQ(resumed.test_probabilities, reference_->test_probabilities) << kill_at;
    // No pending best checkpoint is left behind.
    for (const auto& entry : fs::recursive_directory_iterator(root_ / name / "results")) {
      const std::string file = entry.path().filename().string();
      EXPECT_FALSE(file.rfind("best.e", 0) == 0) << kill_at << ": " << entry.path();
      EXPECT_NE(entry.path().extension(), ".tmp") << kill_at << ": " << entry.path();
    }
  }

  static fs::path root_;
  static std::string config_;
  static Outcome* reference_;
  static int trial_;
};
fs::path CrashWindowTest::root_;
std::string CrashWindowTest::config_;
CrashWindowTest::Outcome* CrashWindowTest::reference_ = nullptr;
int CrashWindowTest::trial_ = 0;

// Two tests (two processes under ctest), each with its own uninterrupted reference run.
// Epoch 1 is always the best so far, so at epoch 1 a best checkpoint is pending at every point.
TEST_F(CrashWindowTest, KillBeforeTheCheckpointOrBeforeTheStoreCommit) {
  ASSERT_EQ(reference_->exit_code, 0) << reference_->output;
  ASSERT_EQ(reference_->val_accuracy.size(), 3u);
  for (const char* point : {"before-checkpoint:1", "before-checkpoint:2", "before-store-commit:1",
                            "before-store-commit:2"}) {
    expectKilledThenResumedToTheReference(point);
  }
}

TEST_F(CrashWindowTest, KillBetweenTheCheckpointsOrBeforeTheBestIsPromoted) {
  ASSERT_EQ(reference_->exit_code, 0) << reference_->output;
  for (const char* point : {"between-checkpoints:1", "between-checkpoints:2",
                            "before-best-promotion:1", "before-best-promotion:3"}) {
    expectKilledThenResumedToTheReference(point);
  }
}

}  // namespace
}  // namespace ferlab
