// A run killed (SIGKILL, FERLAB_KILL_AT: core/FaultPoint.h) at each point of an epoch's commit
// (train/Checkpoints.h) resumes to exactly the metrics of an uninterrupted run on the CPU:
// same epochs, same best epoch, same PrivateTest predictions.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
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
    // 200 training images, a thin PublicTest/PrivateTest: a few seconds per run.
    std::ofstream(config_) << "name = \"crash\"\n[data]\npath = \"" << FERLAB_TEST_DATA
                           << "/fer2013\"\ncache_dir = \"" << sharedCache().string()
                           << "\"\nsubset = 200\neval_subset = 0.05\n"
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

  /// Runs the experiment into the store `name`, with checkpoints under `results` (default: the
  /// store's own folder); `kill_at` = "" or "<point>:<epoch>".
  static Outcome train(const std::string& name, const std::string& kill_at,
                       const std::string& results = "") {
    fs::create_directories(root_ / name);
    const std::string args = " --db " + (root_ / name / "ferlab.db").string() + " --results " +
                             (root_ / (results.empty() ? name : results) / "results").string();
    const auto result = e2e::runFerlab("run " + config_ + args, true,
                                       kill_at.empty() ? "" : "FERLAB_KILL_AT=" + kill_at);
    Outcome outcome;
    outcome.exit_code = result.exit_code;
    outcome.output = result.output;
    const tracking::SqliteStore store((root_ / name / "ferlab.db").string());
    const auto runs = store.listRuns("crash");
    if (runs.size() != 1u || runs[0].record.status != tracking::RunStatus::Finished) return outcome;
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
    // The shell that runs it reports SIGKILL as 128 + 9.
    EXPECT_EQ(killed.exit_code, 137) << kill_at << ": the run was not killed\n" << killed.output;
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

// A store and its checkpoint folders agree: the same config run with a new --db but the same
// --results must not "resume" another store's checkpoint into a run without epochs.
TEST_F(CrashWindowTest, ANewStoreSetsAnotherStoresCheckpointsAsideAndTrainsInFull) {
  ASSERT_EQ(reference_->exit_code, 0) << reference_->output;
  const Outcome first = train("store_a", "", "shared");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const Outcome second = train("store_b", "", "shared");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("in another store"), std::string::npos) << second.output;
  EXPECT_EQ(second.val_accuracy, reference_->val_accuracy);  // a full history, all 3 epochs
  EXPECT_EQ(second.test_predicted, reference_->test_predicted);
  int aside = 0;
  for (const auto& entry : fs::directory_iterator(root_ / "shared" / "results" / "runs")) {
    if (entry.path().filename().string().find(".store-") != std::string::npos) {
      ++aside;
      EXPECT_TRUE(fs::exists(entry.path() / "last.pt")) << entry.path();
    }
  }
  EXPECT_EQ(aside, 1) << "store_a's checkpoints are kept, moved aside";
}

TEST_F(CrashWindowTest, AnInterruptedRunIgnoresCheckpointsAnotherStoreWroteSince) {
  ASSERT_EQ(reference_->exit_code, 0) << reference_->output;
  // store_c is interrupted after recording epochs 1 and 2; store_d then trains the same run
  // to the end in the same folder; store_c, resumed, must not adopt store_d's checkpoint.
  const Outcome killed = train("store_c", "between-checkpoints:2", "shared_cd");
  EXPECT_EQ(killed.exit_code, 137) << killed.output;  // SIGKILL, as the shell reports it
  const Outcome other = train("store_d", "", "shared_cd");
  ASSERT_EQ(other.exit_code, 0) << other.output;
  const Outcome resumed = train("store_c", "", "shared_cd");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("in another store"), std::string::npos) << resumed.output;
  EXPECT_EQ(resumed.val_accuracy, reference_->val_accuracy);
  EXPECT_EQ(resumed.best_epoch, reference_->best_epoch);
  EXPECT_EQ(resumed.test_predicted, reference_->test_predicted);
}

// SIGTERM (Slurm, `kill`) or SIGINT (Ctrl-C) in the middle of an epoch: the run stops at the
// next step with exit code 143 / 130, throws the partial epoch away, keeps the last completed
// epoch, is marked interrupted and releases its claim; the same command resumes it to the
// uninterrupted result.
TEST_F(CrashWindowTest, ASignalMidEpochStopsGracefullyAndTheRunResumesExactly) {
  ASSERT_EQ(reference_->exit_code, 0) << reference_->output;
  for (const auto& [signal, code] : {std::pair<std::string, int>{"TERM", 143}, {"INT", 130}}) {
    const std::string name = "signal_" + signal;
    const Outcome stopped = train(name, "mid-epoch:2:" + signal);
    EXPECT_EQ(stopped.exit_code, code) << stopped.output;
    EXPECT_NE(stopped.output.find("SIG" + signal + " received in epoch 2 at step"),
              std::string::npos)
        << stopped.output;
    EXPECT_NE(stopped.output.find("its claim is released"), std::string::npos) << stopped.output;
    {
      const tracking::SqliteStore store((root_ / name / "ferlab.db").string(),
                                        tracking::OpenMode::ReadOnly);
      const auto runs = store.listRuns("crash");
      ASSERT_EQ(runs.size(), 1u);
      EXPECT_EQ(runs[0].record.status, tracking::RunStatus::Interrupted);
      EXPECT_NE(runs[0].record.error.find("SIG" + signal + " received"), std::string::npos);
      EXPECT_FALSE(runs[0].record.owner.holds) << "the claim must be released";
      EXPECT_EQ(store.epochs(runs[0].record.id).size(), 1u) << "epoch 2 is thrown away";
    }
    const Outcome resumed = train(name, "");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_NE(resumed.output.find("after epoch 1"), std::string::npos) << resumed.output;
    EXPECT_EQ(resumed.val_accuracy, reference_->val_accuracy) << signal;
    EXPECT_EQ(resumed.best_epoch, reference_->best_epoch) << signal;
    EXPECT_EQ(resumed.test_probabilities, reference_->test_probabilities) << signal;
  }
}

// A last.pt damaged after it was written (truncated, or bytes flipped in the middle) no longer
// matches the checksum the store recorded with its epoch: the resume says so, sets the
// checkpoints aside and trains the run again from scratch, never from the damaged file, and
// ends exactly as the uninterrupted run.
TEST_F(CrashWindowTest, ACorruptLastCheckpointIsDetectedAndNeverLoaded) {
  ASSERT_EQ(reference_->exit_code, 0) << reference_->output;
  for (const std::string damage : {"truncate", "flip"}) {
    const std::string name = "corrupt_" + damage;
    const Outcome killed = train(name, "before-best-promotion:2");
    ASSERT_EQ(killed.exit_code, 137) << killed.output;
    fs::path last;
    for (const auto& entry : fs::recursive_directory_iterator(root_ / name / "results")) {
      if (entry.path().filename() == "last.pt") last = entry.path();
    }
    ASSERT_FALSE(last.empty());
    const auto size = fs::file_size(last);
    if (damage == "truncate") {
      fs::resize_file(last, size / 2);
    } else {
      std::fstream file(last, std::ios::in | std::ios::out | std::ios::binary);
      file.seekp(static_cast<std::streamoff>(size / 2));
      const char garbage[16] = {'\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a',
                                '\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a', '\x5a'};
      file.write(garbage, sizeof garbage);
    }
    const Outcome resumed = train(name, "");
    ASSERT_EQ(resumed.exit_code, 0) << damage << "\n" << resumed.output;
    EXPECT_NE(resumed.output.find("its checksum matches no epoch the store recorded"),
              std::string::npos)
        << resumed.output;
    EXPECT_EQ(resumed.output.find("resuming"), std::string::npos) << resumed.output;
    EXPECT_TRUE(fs::exists(last.parent_path() / "corrupt" / "last.pt")) << "set aside, not deleted";
    EXPECT_EQ(resumed.val_accuracy, reference_->val_accuracy) << damage;
    EXPECT_EQ(resumed.test_probabilities, reference_->test_probabilities) << damage;
  }
}

// The disk fills while a checkpoint is written: a real 40 MB tmpfs holds the store and the run
// folder; the run's checkpoints do not all fit in it. The run fails with one clear
// error, leaves no partial file, the store stays intact and records the failure; with space
// freed (the tmpfs grown), running the grid again finishes it exactly as the reference.
TEST_F(CrashWindowTest, ADiskFullDuringACheckpointIsOneClearErrorAndARerunFinishes) {
  ASSERT_EQ(reference_->exit_code, 0) << reference_->output;
  ASSERT_EQ(::geteuid(), 0u) << "mounting the test's tmpfs needs root (CI runs as root)";
  const fs::path disk = root_ / "full_disk";
  fs::create_directories(disk);
  // Room for epoch 1 (best.pt, last.pt, the store) and not for epoch 2's new checkpoint next
  // to them, sized from the reference run so the test follows the model's size.
  std::uintmax_t checkpoints = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root_ / "reference" / "results")) {
    if (entry.path().extension() == ".pt") checkpoints += entry.file_size();
  }
  ASSERT_GT(checkpoints, 0u);
  const std::uintmax_t store_room = 4u << 20;
  const std::string size_kib = std::to_string((checkpoints + store_room) / 1024);
  const auto mount =
      e2e::runProgram("mount", "-t tmpfs -o size=" + size_kib + "k tmpfs " + disk.string());
  ASSERT_EQ(mount.exit_code, 0) << mount.output;
  // Unmounted however the test ends, so the suite's clean-up can remove the folder.
  const std::unique_ptr<const fs::path, void (*)(const fs::path*)> unmount(
      &disk, [](const fs::path* path) { e2e::runProgram("umount", path->string()); });
  const Outcome full = train("full_disk", "");
  EXPECT_EQ(full.exit_code, 1) << full.output;
  EXPECT_NE(full.output.find("writing the checkpoint failed: No space left on device"),
            std::string::npos)
      << full.output;
  EXPECT_EQ(full.output.find("terminate called"), std::string::npos) << full.output;
  for (const auto& entry : fs::recursive_directory_iterator(disk)) {
    EXPECT_NE(entry.path().extension(), ".tmp") << "partial file left: " << entry.path();
  }
  {
    const tracking::SqliteStore store((disk / "ferlab.db").string(), tracking::OpenMode::ReadOnly);
    const auto runs = store.listRuns("crash");
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].record.status, tracking::RunStatus::Failed);
    EXPECT_NE(runs[0].record.error.find("No space left on device"), std::string::npos);
    EXPECT_GE(store.epochs(runs[0].record.id).size(), 1u) << "the epochs recorded are kept";
  }
  const auto check =
      e2e::runProgram("sqlite3", (disk / "ferlab.db").string() + " 'PRAGMA integrity_check'");
  EXPECT_EQ(check.output, "ok\n");
  const auto grow = e2e::runProgram("mount", "-o remount,size=200m " + disk.string());
  ASSERT_EQ(grow.exit_code, 0) << grow.output;
  const Outcome rerun = train("full_disk", "");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  EXPECT_EQ(rerun.val_accuracy, reference_->val_accuracy);
  EXPECT_EQ(rerun.test_probabilities, reference_->test_probabilities);
}

}  // namespace
}  // namespace ferlab
