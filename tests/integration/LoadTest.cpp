// Load on one store: 8 `ferlab run` processes share a grid of tiny runs (claims decide who
// trains what) while 2 readers loop `ferlab ls --json` and `ferlab report`, for 5 minutes
// (FERLAB_LOAD_SECONDS overrides, e.g. for a quick look). Then SIGTERM stops the trainers.
// Held: no lock error anywhere, every run's epochs are 1..n once each, every finished run is
// complete, every reader call succeeded, and PRAGMA integrity_check says ok.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/tracking/SqliteStore.h"
#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kTrainers = 8;
constexpr int kEpochs = 2;
constexpr int kCells = 400;  // more than 8 processes on 2 cores finish in 5 minutes

std::chrono::seconds loadDuration() {
  const char* configured = std::getenv("FERLAB_LOAD_SECONDS");
  return std::chrono::seconds(configured != nullptr ? std::atoi(configured) : 300);
}

bool mentionsLocking(const std::string& text) {
  return text.find("database is locked") != std::string::npos ||
         text.find("SQLITE_BUSY") != std::string::npos ||
         text.find("database table is locked") != std::string::npos;
}

struct ReaderTally {
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  std::string first_failure;  // written by its own reader thread only
};

/// Calls `ferlab <command>` until `until`; a call fails on a non-zero exit, a lock message, or
/// (with `json`) output that does not parse as a JSON array.
void readUntil(Clock::time_point until, const std::string& command, bool json, ReaderTally& tally) {
  while (Clock::now() < until) {
    const auto result = e2e::runFerlab(command, json ? false : true);
    bool ok = result.exit_code == 0 && !mentionsLocking(result.output);
    if (ok && json) {
      const auto parsed = nlohmann::json::parse(result.output, nullptr, false);
      ok = !parsed.is_discarded() && parsed.is_array();
    }
    ++tally.calls;
    if (!ok && tally.failures++ == 0) tally.first_failure = result.output;
  }
}

TEST(LoadTest, EightTrainersAndTwoReadersOnOneStoreForFiveMinutes) {
  const fs::path root = fs::temp_directory_path() / ("ferlab_load_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string config = (root / "load.toml").string();
  {
    std::ofstream out(config);
    out << "name = \"load\"\n[data]\npath = \"" << FERLAB_TEST_DATA << "/fer2013\"\ncache_dir = \""
        << (fs::path(FERLAB_BINARY).parent_path() / "test-cache").string()
        << "\"\nsubset = 100\neval_subset = 0.02\n[train]\nepochs = " << kEpochs
        << "\nlr = 0.002\n[grid]\n\"train.seed\" = [";
    for (int seed = 1; seed <= kCells; ++seed) out << (seed > 1 ? ", " : "") << seed;
    out << "]\n";
  }
  const std::string db = (root / "ferlab.db").string();
  // The store exists before the load starts, so readers never meet a missing file.
  const auto first = e2e::runFerlab("run " + config + " --db " + db + " --results " +
                                    (root / "results").string() + " --cell 0 --threads 1");
  ASSERT_EQ(first.exit_code, 0) << first.output;

  const auto until = Clock::now() + loadDuration();
  std::vector<pid_t> trainers;
  for (int i = 0; i < kTrainers; ++i) {
    trainers.push_back(e2e::startFerlab(
        {"run", config, "--db", db, "--results", (root / "results").string(), "--threads", "1"},
        (root / ("trainer" + std::to_string(i) + ".log")).string()));
  }
  ReaderTally ls, report;
  std::thread lister(readUntil, until, "ls --db " + db + " --json", true, std::ref(ls));
  std::thread reporter(readUntil, until,
                       "report --db " + db + " -e load --resamples 1000 --gallery 0 -o " +
                           (root / "load.html").string(),
                       false, std::ref(report));
  lister.join();
  reporter.join();
  for (const pid_t trainer : trainers) ::kill(trainer, SIGTERM);

  for (int i = 0; i < kTrainers; ++i) {
    int status = 0;
    ::waitpid(trainers[i], &status, 0);
    const std::string log = e2e::readText(root / ("trainer" + std::to_string(i) + ".log"));
    ASSERT_TRUE(WIFEXITED(status)) << "trainer " << i << "\n" << log;
    // 143: stopped by the SIGTERM; 0: it had nothing left to train.
    EXPECT_TRUE(WEXITSTATUS(status) == 143 || WEXITSTATUS(status) == 0)
        << "trainer " << i << " exited " << WEXITSTATUS(status) << "\n"
        << log;
    EXPECT_FALSE(mentionsLocking(log)) << "trainer " << i << "\n" << log;
    EXPECT_EQ(log.find("error"), std::string::npos) << "trainer " << i << "\n" << log;
  }
  EXPECT_GT(ls.calls, 0);
  EXPECT_EQ(ls.failures, 0) << ls.first_failure;
  EXPECT_GT(report.calls, 0);
  EXPECT_EQ(report.failures, 0) << report.first_failure;

  const tracking::SqliteStore store(db, tracking::OpenMode::ReadOnly);
  const auto runs = store.listRuns("load");
  ASSERT_EQ(runs.size(), static_cast<std::size_t>(kCells));
  int finished = 0;
  for (const auto& run : runs) {
    const auto epochs = store.epochs(run.record.id);
    for (std::size_t i = 0; i < epochs.size(); ++i)
      EXPECT_EQ(epochs[i].epoch, static_cast<int>(i) + 1) << run.record.id << ": lost or doubled";
    if (run.record.status == tracking::RunStatus::Finished) {
      ++finished;
      EXPECT_EQ(epochs.size(), static_cast<std::size_t>(kEpochs)) << run.record.id;
      EXPECT_FALSE(store.predictions(run.record.id, "PrivateTest").empty()) << run.record.id;
    } else {
      EXPECT_NE(run.record.status, tracking::RunStatus::Failed) << run.record.error;
      EXPECT_FALSE(run.record.owner.holds) << run.record.id << " still claimed after the stop";
    }
  }
  std::cout << "[load] " << finished << " runs finished, " << ls.calls << " `ls --json` and "
            << report.calls << " `report` calls in " << loadDuration().count() << " s\n";
  EXPECT_GT(finished, kTrainers) << "the trainers barely trained";
  const auto check = e2e::runProgram("sqlite3", db + " 'PRAGMA integrity_check'");
  EXPECT_EQ(check.output, "ok\n");
  fs::remove_all(root);
}

}  // namespace
}  // namespace ferlab
