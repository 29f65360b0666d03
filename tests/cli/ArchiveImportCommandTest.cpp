// `ferlab archive` and `ferlab import` end to end through the real binary: the records a
// fresh machine rebuilds its store from.

#include <string>

#include <gtest/gtest.h>

#include "tests/cli/CliFixture.h"

namespace ferlab::clitest {
namespace {

class ArchiveImportTest : public CliStoreTest {};

// The two finished runs of experiment "grid" (the failed one is not archived).
std::string exportOf(const std::string& db, const std::string& what) {
  const auto result = runFerlab(
      "export c00000000001 c00000000002 --what " + what + " --format json --db " + db, false);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return result.output;
}

TEST_F(ArchiveImportTest, ArchivedRunsImportIntoAFreshStoreUnchanged) {
  const fs::path out = dir_ / "archives";
  const auto archived = runFerlab("archive -e grid -o " + out.string() + dbArg());
  ASSERT_EQ(archived.exit_code, 0) << archived.output;
  EXPECT_TRUE(fs::exists(out / "grid" / "c00000000001.json.gz"));
  EXPECT_TRUE(fs::exists(out / "grid" / "c00000000002.json.gz"));
  // The failed run has no final results: left out, with a word.
  EXPECT_FALSE(fs::exists(out / "grid" / "c00000000003.json.gz"));
  EXPECT_NE(archived.output.find("c00000000003 (grid[lr=1]) is failed: not archived"),
            std::string::npos)
      << archived.output;

  const std::string fresh = (dir_ / "fresh" / "ferlab.db").string();
  const auto imported = runFerlab("import " + out.string() + " --db " + fresh);
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_NE(imported.output.find("2 of 2 run archive(s) imported"), std::string::npos)
      << imported.output;
  for (const char* what : {"runs", "epochs", "predictions"}) {
    EXPECT_EQ(exportOf(fresh, what), exportOf(db(), what)) << what;
  }

  const auto again = runFerlab("import " + out.string() + " --db " + fresh);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("already in the store, left as it is"), std::string::npos)
      << again.output;
  EXPECT_NE(again.output.find("0 of 2 run archive(s) imported"), std::string::npos) << again.output;
}

TEST_F(ArchiveImportTest, ABadArchiveStopsTheImportBeforeAnythingIsWritten) {
  const fs::path out = dir_ / "bad-archives";
  ASSERT_EQ(runFerlab("archive c00000000001 -o " + out.string() + dbArg()).exit_code, 0);
  const fs::path broken = out / "grid" / "zz-broken.json.gz";
  std::ofstream(broken) << "not gzip";

  const std::string fresh = (dir_ / "untouched" / "ferlab.db").string();
  const auto result = runFerlab("import " + out.string() + " --db " + fresh);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find(broken.string() + ": not a valid gzip stream"), std::string::npos)
      << result.output;
  EXPECT_FALSE(fs::exists(fresh)) << "the good archive was imported before the bad one was read";

  const auto missing = runFerlab("import " + (dir_ / "nowhere").string() + " --db " + fresh);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("nowhere: no such file or folder"), std::string::npos)
      << missing.output;
}

}  // namespace
}  // namespace ferlab::clitest
