// kill -9 at random instants: 30 trials over a tiny run. Each trial starts `ferlab run`, sends
// SIGKILL after a delay drawn uniformly over an uninterrupted run's wall time (so the kills
// land in start-up, store creation, dataset loading, training, checkpointing, the final
// evaluation and its commit), then runs the same command again. Every trial must end with the
// epochs, best epoch and PrivateTest probabilities of the uninterrupted run. The delays come
// from a fixed seed; where the kill lands still depends on the machine's speed, which is the
// point: the outcome must not.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "framework/tracking/SqliteStore.h"
#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kTrials = 30;

struct Result {
  std::vector<double> val_accuracy;
  int best_epoch = -1;
  std::vector<float> test_probabilities;
};

Result readResult(const fs::path& db) {
  Result result;
  const tracking::SqliteStore store(db.string(), tracking::OpenMode::ReadOnly);
  const auto runs = store.listRuns("random_kill");
  if (runs.size() != 1u || runs[0].record.status != tracking::RunStatus::Finished) return result;
  for (const auto& epoch : store.epochs(runs[0].record.id))
    result.val_accuracy.push_back(epoch.val_accuracy);
  result.best_epoch = runs[0].summary.best_epoch;
  for (const auto& prediction : store.predictions(runs[0].record.id, "PrivateTest")) {
    result.test_probabilities.insert(result.test_probabilities.end(),
                                     prediction.probabilities.begin(),
                                     prediction.probabilities.end());
  }
  return result;
}

/// Starts `ferlab run` (output discarded), kills it with SIGKILL after `delay`; true when the
/// kill landed (the process had not finished yet).
bool runAndKill(const std::vector<std::string>& args, std::chrono::duration<double> delay) {
  const pid_t pid = e2e::startFerlab(args, "/dev/null");
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

TEST(RandomKillTest, ThirtyKillsAtRandomInstantsAllResumeToTheUninterruptedResult) {
  const fs::path root =
      fs::temp_directory_path() / ("ferlab_random_kill_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string config = (root / "tiny.toml").string();
  std::ofstream(config) << "name = \"random_kill\"\n[data]\npath = \"" << FERLAB_TEST_DATA
                        << "/fer2013\"\ncache_dir = \""
                        << (fs::path(FERLAB_BINARY).parent_path() / "test-cache").string()
                        << "\"\nsubset = 200\neval_subset = 0.05\n[model]\nbatch_norm = true\n"
                           "[augment]\nhflip = 0.5\n[train]\nepochs = 3\nseed = 11\nlr = 0.002\n";
  auto args = [&](const std::string& name) {
    return std::vector<std::string>{"run",       config,
                                    "--db",      (root / name / "ferlab.db").string(),
                                    "--results", (root / name / "results").string(),
                                    "--threads", "1"};
  };
  const auto start = Clock::now();
  const auto reference_run =
      e2e::runFerlab("run " + config + " --db " + (root / "reference/ferlab.db").string() +
                     " --results " + (root / "reference/results").string() + " --threads 1");
  const std::chrono::duration<double> wall = Clock::now() - start;
  ASSERT_EQ(reference_run.exit_code, 0) << reference_run.output;
  const Result reference = readResult(root / "reference/ferlab.db");
  ASSERT_EQ(reference.val_accuracy.size(), 3u);

  std::mt19937 generator(2026);
  std::uniform_real_distribution<double> instant(0.05, wall.count());
  int killed = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const std::string name = "trial_" + std::to_string(trial);
    const double delay = instant(generator);
    if (runAndKill(args(name), std::chrono::duration<double>(delay))) ++killed;
    std::string resume = "run";
    for (std::size_t i = 1; i < args(name).size(); ++i) resume += " " + args(name)[i];
    const auto resumed = e2e::runFerlab(resume);
    ASSERT_EQ(resumed.exit_code, 0) << "trial " << trial << " (kill after " << delay << " s)\n"
                                    << resumed.output;
    const Result result = readResult(root / name / "ferlab.db");
    EXPECT_EQ(result.val_accuracy, reference.val_accuracy)
        << "trial " << trial << ", " << delay << " s";
    EXPECT_EQ(result.best_epoch, reference.best_epoch) << "trial " << trial;
    EXPECT_EQ(result.test_probabilities, reference.test_probabilities) << "trial " << trial;
  }
  // How many delays fall inside a run depends on the load when the reference was timed (CI
  // measured 8 of 30 with a reference slowed to 36 s); a trial whose run ended first still had
  // to agree. At least one kill must land, or the test tested nothing.
  EXPECT_GE(killed, 1) << "no kill landed mid-run";
  std::printf(
      "random kills: %d of %d trials killed mid-run (uninterrupted run %.1f s); all resumed "
      "to the reference\n",
      killed, kTrials, wall.count());
  fs::remove_all(root);
}

}  // namespace
}  // namespace ferlab
