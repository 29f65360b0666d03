// The read-only commands (ls, show, report, export, plot) through the real binary: a mistyped
// --db is an error naming the path that creates nothing, and a store in a read-only file or a
// read-only folder is read without being written.
//
// Root ignores chmod, so as root the read-only folder is a read-only bind mount in a private
// mount namespace (`unshare -m`, which needs CAP_SYS_ADMIN); where that is not allowed the
// folder test is skipped and says why, and the read-only file test still checks that the
// commands open the store read-only and leave its bytes as they were.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/cli/CliFixture.h"

namespace ferlab::clitest {
namespace {

// One invocation per read-only command; `out` is a writable folder for their output files.
std::vector<std::string> readCommands(const fs::path& out) {
  return {"ls",
          "show c00000000001",
          "show c00000000002 --json",
          "report -o " + (out / "report.html").string(),
          "export --format csv -o " + (out / "runs.csv").string(),
          "plot d00000000001 -o " + (out / "figures").string()};
}

std::set<std::string> entriesOf(const fs::path& folder) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// Runs `command` through the shell, stdout and stderr joined.
CommandResult runShell(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
    result.output.append(buffer, n);
  }
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class ReadOnlyStoreTest : public CliStoreTest {
 protected:
  void SetUp() override {
    work_ = dir_ / ("read-only-" + std::to_string(++counter_));
    fs::create_directories(work_ / "out");
    fs::create_directories(work_ / "store");
    fs::copy_file(db(), store());
  }
  void TearDown() override {
    ::chmod((work_ / "store").c_str(), 0755);
    ::chmod(store().c_str(), 0644);
  }
  std::string store() const { return (work_ / "store" / "ferlab.db").string(); }

  fs::path work_;
  static inline int counter_ = 0;
};

TEST_F(ReadOnlyStoreTest, MistypedDbSaysTheStoreDoesNotExistAndCreatesNothing) {
  const fs::path missing_folder = work_ / "no-such-folder";
  for (const std::string& db :
       {(work_ / "store" / "ferlab.bd").string(), (missing_folder / "ferlab.db").string()}) {
    for (const std::string& command : readCommands(work_ / "out")) {
      const auto result = runFerlab(command + " --db " + db);
      EXPECT_EQ(result.exit_code, 1) << command << ": " << result.output;
      EXPECT_NE(result.output.find(db + ": no tracking store here: the file does not exist"),
                std::string::npos)
          << command << ": " << result.output;
      EXPECT_FALSE(fs::exists(db)) << command;
    }
  }
  EXPECT_FALSE(fs::exists(missing_folder));
  EXPECT_EQ(entriesOf(work_ / "store"), std::set<std::string>{"ferlab.db"});
}

TEST_F(ReadOnlyStoreTest, ReadOnlyFileIsReadAndLeftUnchanged) {
  const std::string before = readFile(store());
  ASSERT_EQ(::chmod(store().c_str(), 0444), 0);
  for (const std::string& command : readCommands(work_ / "out")) {
    const auto result = runFerlab(command + " --db " + store());
    EXPECT_EQ(result.exit_code, 0) << command << ": " << result.output;
  }
  EXPECT_EQ(readFile(store()), before);
  EXPECT_TRUE(fs::exists(work_ / "out" / "report.html"));
  EXPECT_NE(readFile(work_ / "out" / "runs.csv").find("c00000000002"), std::string::npos);
}

TEST_F(ReadOnlyStoreTest, ReadOnlyFolderIsReadWithoutWritingIntoIt) {
  const std::string before = readFile(store());
  const fs::path folder = work_ / "store";
  const fs::path mounted = work_ / "mounted";
  std::string prefix;  // what runs each command so that the folder is read-only for it
  std::string db = store();
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod(store().c_str(), 0444), 0);
    ASSERT_EQ(::chmod(folder.c_str(), 0555), 0);
  } else {
    // Root writes through chmod: bind the folder read-only in a private mount namespace.
    fs::create_directories(mounted);
    prefix = "unshare -m --propagation private sh -c 'mount --bind " + folder.string() + " " +
             mounted.string() + " && mount -o remount,bind,ro " + mounted.string() +
             " && exec \"$0\" \"$@\"' ";
    const auto probe = runShell(prefix + "touch " + (mounted / "probe").string());
    if (probe.exit_code == 0 || probe.output.find("Read-only file system") == std::string::npos) {
      GTEST_SKIP() << "running as root without a read-only bind mount (unshare -m needs "
                      "CAP_SYS_ADMIN): "
                   << probe.output;
    }
    db = (mounted / "ferlab.db").string();
  }
  for (const std::string& command : readCommands(work_ / "out")) {
    const auto result =
        runShell(prefix + std::string(FERLAB_BINARY) + " " + command + " --db " + db);
    EXPECT_EQ(result.exit_code, 0) << command << ": " << result.output;
  }
  EXPECT_NE(readFile(work_ / "out" / "runs.csv").find("d00000000001"), std::string::npos);
  // No -wal or -shm file appeared: the store was opened immutable.
  EXPECT_EQ(entriesOf(folder), std::set<std::string>{"ferlab.db"});
  EXPECT_EQ(readFile(store()), before);
}

}  // namespace
}  // namespace ferlab::clitest
