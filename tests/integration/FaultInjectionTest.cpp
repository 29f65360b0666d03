// Faults made for real, on filesystems the test mounts (tmpfs; CI runs as root): the disk fills
// during a store commit and during a dataset-cache write, and the store sits on a read-only
// mount. Each time: one clear error (or, for the cache, a warning and a finished run), the
// store intact, no partial file, and after the fault is gone a re-run finishes to the
// uninterrupted result. (A disk full during a checkpoint write: CrashWindowTest.)

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "framework/tracking/SqliteStore.h"
#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;
using tracking::OpenMode;
using tracking::RunStatus;
using tracking::SqliteStore;

constexpr int kEpochs = 8;  // long enough that the disk fills while the run still trains

struct Outcome {
  int exit_code = -1;
  std::string output;
  std::vector<double> val_accuracy;
  std::vector<float> test_probabilities;
};

Outcome readOutcome(const fs::path& db) {
  Outcome outcome;
  const SqliteStore store(db.string(), OpenMode::ReadOnly);
  const auto runs = store.listRuns("faults");
  if (runs.size() != 1u || runs[0].record.status != RunStatus::Finished) return outcome;
  for (const auto& epoch : store.epochs(runs[0].record.id))
    outcome.val_accuracy.push_back(epoch.val_accuracy);
  for (const auto& prediction : store.predictions(runs[0].record.id, "PrivateTest")) {
    outcome.test_probabilities.insert(outcome.test_probabilities.end(),
                                      prediction.probabilities.begin(),
                                      prediction.probabilities.end());
  }
  return outcome;
}

/// A tmpfs of `size` ("8m") mounted on `where`, unmounted (lazily, so a failed test never
/// leaves it busy) when the guard goes.
class Tmpfs {
 public:
  Tmpfs(fs::path where, const std::string& size) : where_(std::move(where)) {
    fs::create_directories(where_);
    const auto mount =
        e2e::runProgram("mount", "-t tmpfs -o size=" + size + " tmpfs " + where_.string());
    mounted_ = mount.exit_code == 0;
    error_ = mount.output;
  }
  ~Tmpfs() {
    if (mounted_) e2e::runProgram("umount", "-l " + where_.string());
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  int remount(const std::string& options) const {
    return e2e::runProgram("mount", "-o remount," + options + " " + where_.string()).exit_code;
  }

 private:
  fs::path where_;
  bool mounted_ = false;
  std::string error_;
};

/// Fills the filesystem holding `folder` to the last byte: 1 MiB writes, then 4 KiB ones.
void fillDisk(const fs::path& folder) {
  std::ofstream filler(folder / "filler", std::ios::binary);
  const std::vector<char> mebibyte(1 << 20, 'x');
  while (filler.write(mebibyte.data(), static_cast<std::streamsize>(mebibyte.size())) &&
         filler.flush()) {
  }
  filler.clear();
  while (filler.write(mebibyte.data(), 4096) && filler.flush()) {
  }
}

std::size_t epochsRecorded(const fs::path& db) {
  if (!fs::exists(db)) return 0;
  try {
    const SqliteStore store(db.string(), OpenMode::ReadOnly);
    const auto runs = store.listRuns("faults");
    return runs.empty() ? 0 : store.epochs(runs[0].record.id).size();
  } catch (const std::exception&) {
    return 0;  // being created: look again
  }
}

class FaultInjectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("ferlab_faults_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    const fs::path shared_cache = fs::path(FERLAB_BINARY).parent_path() / "test-cache";
    config_ = writeConfig("faults.toml", shared_cache);
    reference_ = new Outcome(train(config_, root_ / "reference/ferlab.db", root_ / "reference"));
  }
  static void TearDownTestSuite() {
    delete reference_;
    fs::remove_all(root_);
  }
  void SetUp() override {
    ASSERT_EQ(reference_->exit_code, 0) << reference_->output;
    ASSERT_EQ(reference_->val_accuracy.size(), static_cast<std::size_t>(kEpochs));
    ASSERT_EQ(::geteuid(), 0u) << "mounting the test's tmpfs needs root (CI runs as root)";
  }

  /// 200 training images and a thin PublicTest/PrivateTest: about a second per epoch.
  static std::string writeConfig(const std::string& file, const fs::path& cache_dir) {
    const std::string path = (root_ / file).string();
    std::ofstream(path) << "name = \"faults\"\n[data]\npath = \"" << FERLAB_TEST_DATA
                        << "/fer2013\"\ncache_dir = \"" << cache_dir.string()
                        << "\"\nsubset = 200\neval_subset = 0.05\n[model]\nbatch_norm = true\n"
                           "[train]\nepochs = "
                        << kEpochs << "\nseed = 3\nlr = 0.002\n";
    return path;
  }

  static std::vector<std::string> runArgs(const std::string& config, const fs::path& db,
                                          const fs::path& results) {
    return {"run", config, "--db", db.string(), "--results", results.string(), "--threads", "1"};
  }

  static Outcome train(const std::string& config, const fs::path& db, const fs::path& results) {
    std::string args;
    for (const auto& arg : runArgs(config, db, results)) args += " '" + arg + "'";
    const auto result = e2e::runFerlab(args);
    Outcome outcome = readOutcome(db);
    outcome.exit_code = result.exit_code;
    outcome.output = result.output;
    return outcome;
  }

  static void expectIntact(const fs::path& db) {
    const auto check = e2e::runProgram("sqlite3", db.string() + " 'PRAGMA integrity_check'");
    EXPECT_EQ(check.output, "ok\n") << db;
  }

  static void expectNoPartialFile(const fs::path& folder) {
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
      const std::string name = entry.path().filename().string();
      EXPECT_EQ(name.find(".tmp"), std::string::npos) << "partial file left: " << entry.path();
    }
  }

  static fs::path root_;
  static std::string config_;
  static Outcome* reference_;
};
fs::path FaultInjectionTest::root_;
std::string FaultInjectionTest::config_;
Outcome* FaultInjectionTest::reference_ = nullptr;

TEST_F(FaultInjectionTest, ADiskFullDuringAStoreCommitIsOneClearErrorAndARerunFinishes) {
  const fs::path disk = root_ / "store_disk";
  const Tmpfs tmpfs(disk, "16m");
  ASSERT_TRUE(tmpfs.mounted()) << tmpfs.error();
  const fs::path db = disk / "ferlab.db";
  const fs::path log = root_ / "store_full.log";
  // Checkpoints go to another disk: only the store's commits meet the full one.
  const pid_t ferlab = e2e::startFerlab(runArgs(config_, db, root_ / "store_results"), log);
  // The disk fills once the run has committed its first epoch: the WAL then has to grow for
  // the next commit (SQLite reuses WAL space only after a checkpoint, at 1000 pages).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (epochsRecorded(db) < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  fillDisk(disk);
  int status = 0;
  ::waitpid(ferlab, &status, 0);
  const std::string output = e2e::readText(log);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 1) << output;
  EXPECT_NE(output.find(db.string() + ": "), std::string::npos) << output;
  EXPECT_NE(output.find("database or disk is full"), std::string::npos) << output;
  EXPECT_EQ(output.find("terminate called"), std::string::npos) << output;
  fs::remove(disk / "filler");
  expectIntact(db);
  const std::size_t kept = epochsRecorded(db);
  EXPECT_GE(kept, 1u) << "the epochs committed before the disk filled are kept";
  EXPECT_LT(kept, static_cast<std::size_t>(kEpochs)) << "the disk filled after the run ended";
  expectNoPartialFile(disk);

  const Outcome rerun = train(config_, db, root_ / "store_results");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  EXPECT_EQ(rerun.val_accuracy, reference_->val_accuracy);
  EXPECT_EQ(rerun.test_probabilities, reference_->test_probabilities);
  expectIntact(db);
}

TEST_F(FaultInjectionTest, ADiskFullDuringTheDatasetCacheWriteWarnsAndTheRunFinishes) {
  // FER2013's decoded cache is about 80 MB: it cannot fit in 8 MB.
  const fs::path disk = root_ / "cache_disk";
  const Tmpfs tmpfs(disk, "8m");
  ASSERT_TRUE(tmpfs.mounted()) << tmpfs.error();
  const std::string config = writeConfig("faults_cache.toml", disk);
  const Outcome full = train(config, root_ / "cache_full/ferlab.db", root_ / "cache_full");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  EXPECT_NE(full.output.find("dataset cache not written"), std::string::npos) << full.output;
  EXPECT_NE(full.output.find("No space left on device"), std::string::npos) << full.output;
  EXPECT_EQ(full.val_accuracy, reference_->val_accuracy) << "decoded data equals the cached";
  EXPECT_EQ(full.test_probabilities, reference_->test_probabilities);
  expectNoPartialFile(disk);
  EXPECT_TRUE(fs::is_empty(disk));

  ASSERT_EQ(tmpfs.remount("size=200m"), 0);
  const Outcome roomy = train(config, root_ / "cache_roomy/ferlab.db", root_ / "cache_roomy");
  ASSERT_EQ(roomy.exit_code, 0) << roomy.output;
  EXPECT_EQ(roomy.output.find("dataset cache not written"), std::string::npos) << roomy.output;
  EXPECT_EQ(roomy.val_accuracy, reference_->val_accuracy);
  int caches = 0;
  for (const auto& entry : fs::directory_iterator(disk))
    caches += entry.path().extension() == ".fercache";
  EXPECT_EQ(caches, 1);
  expectNoPartialFile(disk);
}

TEST_F(FaultInjectionTest, AReadOnlyStoreIsOneClearErrorAndStaysReadable) {
  const fs::path disk = root_ / "readonly_disk";
  const Tmpfs tmpfs(disk, "16m");
  ASSERT_TRUE(tmpfs.mounted()) << tmpfs.error();
  const fs::path db = disk / "ferlab.db";
  fs::copy_file(root_ / "reference/ferlab.db", db);
  ASSERT_EQ(tmpfs.remount("ro"), 0);
  const std::string before = e2e::readText(db);

  // A new experiment has something to record: the error names the store and the cause.
  const std::string other = (root_ / "other.toml").string();
  {
    std::string text = e2e::readText(config_);
    text.replace(text.find("name = \"faults\""), 15, "name = \"other\"");
    std::ofstream(other) << text;
  }
  std::string args;
  for (const auto& arg : runArgs(other, db, root_ / "readonly_results")) args += " '" + arg + "'";
  const auto run = e2e::runFerlab(args);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("error: " + db.string() + ": "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("the store cannot be written"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Read-only file system"), std::string::npos) << run.output;

  // Reading needs no write: ls and show work on the read-only mount.
  const auto list = e2e::runFerlab("ls --db " + db.string() + " --json");
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("\"status\": \"finished\""), std::string::npos) << list.output;
  EXPECT_EQ(e2e::readText(db), before) << "the store changed";
  ASSERT_EQ(tmpfs.remount("rw"), 0);
  expectIntact(db);
}

}  // namespace
}  // namespace ferlab
