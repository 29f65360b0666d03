// `ferlab run --workers 8` on one 8-cell grid, one worker killed with kill -9 in the middle of
// a run: every run is trained to completion exactly once (the killed run resumed by another
// worker from its checkpoint), no epoch row is duplicated or lost, no "database is locked",
// and the resumed run equals the same cell trained alone, uninterrupted.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "framework/tracking/SqliteStore.h"
#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kCells = 8;
constexpr int kEpochs = 3;

int countOf(const std::string& text, const std::string& needle) {
  int count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

/// The worker that trains a run which has recorded at least one epoch and not all, or 0.
std::pair<std::int64_t, std::string> runningOwner(const std::string& db) {
  if (!fs::exists(db)) return {0, ""};
  try {
    const tracking::SqliteStore store(db, tracking::OpenMode::ReadOnly);
    for (const auto& row : store.listRuns()) {
      const auto& record = row.record;
      if (record.status != tracking::RunStatus::Running || !record.owner.holds) continue;
      const auto epochs = store.epochs(record.id).size();
      if (epochs >= 1 && epochs < static_cast<std::size_t>(kEpochs))
        return {record.owner.pid, record.id};
    }
  } catch (const std::exception&) {
    // The store is being created: look again.
  }
  return {0, ""};
}

TEST(WorkersTest, EightWorkersOneKilledTrainEveryRunExactlyOnce) {
  const fs::path root =
      fs::temp_directory_path() / ("ferlab_workers_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string config = (root / "grid.toml").string();
  std::ofstream(config) << "name = \"workers\"\n[data]\npath = \"" << FERLAB_TEST_DATA
                        << "/fer2013\"\ncache_dir = \""
                        << (fs::path(FERLAB_BINARY).parent_path() / "test-cache").string()
                        << "\"\nsubset = 200\neval_subset = 0.05\n[augment]\nhflip = 0.5\n"
                           "[train]\nepochs = "
                        << kEpochs
                        << "\nlr = 0.002\n[grid]\n\"train.seed\" = [1, 2, 3, 4, 5, 6, 7, 8]\n";
  const std::string db = (root / "ferlab.db").string();
  const pid_t parent = e2e::startFerlab({"run", config, "--workers", "8", "--db", db, "--results",
                                         (root / "results").string(), "--claim-timeout", "30"},
                                        root / "workers.log");
  // Kill the worker of the first run caught between its first and last epoch.
  std::pair<std::int64_t, std::string> victim{0, ""};
  const auto deadline = Clock::now() + std::chrono::minutes(5);
  while (victim.first == 0 && Clock::now() < deadline) {
    victim = runningOwner(db);
    if (victim.first == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(victim.first, 0) << "no run was caught mid-training\n"
                             << e2e::readText(root / "workers.log");
  ASSERT_EQ(::kill(static_cast<pid_t>(victim.first), SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(parent, &status, 0), parent);
  const std::string log = e2e::readText(root / "workers.log");
  // The parent reports the killed worker: exit code 1, and the grid is complete all the same.
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << log;
  EXPECT_NE(log.find("was killed by signal 9"), std::string::npos) << log;
  EXPECT_EQ(log.find("database is locked"), std::string::npos) << log;
  EXPECT_EQ(countOf(log, "taking over"), 1) << log;
  EXPECT_NE(log.find(victim.second + "): taking over from"), std::string::npos) << log;

  const tracking::SqliteStore store(db, tracking::OpenMode::ReadOnly);
  const auto runs = store.listRuns("workers");
  ASSERT_EQ(runs.size(), static_cast<std::size_t>(kCells));
  for (const auto& row : runs) {
    const auto& id = row.record.id;
    EXPECT_EQ(row.record.status, tracking::RunStatus::Finished) << id;
    const auto epochs = store.epochs(id);
    ASSERT_EQ(epochs.size(), static_cast<std::size_t>(kEpochs)) << id;
    for (int e = 0; e < kEpochs; ++e) EXPECT_EQ(epochs[static_cast<std::size_t>(e)].epoch, e + 1);
    EXPECT_EQ(countOf(log, "run " + id + " finished"), 1) << id << " finished more than once\n"
                                                          << log;
  }

  // The resumed run equals its cell trained alone (one thread, as each of 8 workers on 2 cores).
  const auto victim_row = store.getRun(victim.second);
  const std::string alone_db = (root / "alone.db").string();
  const auto alone =
      e2e::runFerlab("run " + config + " --cell " + std::to_string(victim_row.record.grid_index) +
                     " --threads 1 --db " + alone_db + " --results " + (root / "alone").string());
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  const tracking::SqliteStore reference(alone_db, tracking::OpenMode::ReadOnly);
  const auto expected = reference.getRun(victim.second);
  EXPECT_EQ(victim_row.summary.test_accuracy, expected.summary.test_accuracy);
  EXPECT_EQ(victim_row.summary.best_epoch, expected.summary.best_epoch);
  const auto got = store.predictions(victim.second, "PrivateTest");
  const auto want = reference.predictions(victim.second, "PrivateTest");
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i].probabilities, want[i].probabilities);
  fs::remove_all(root);
}

}  // namespace
}  // namespace ferlab
