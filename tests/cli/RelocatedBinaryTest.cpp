// A copied `ferlab` outside the source tree (core/ResourcePaths.h): it finds the report's chart
// bundle beside it or through FERLAB_REPORT_ASSETS, fails with one clear line naming what it
// looked for and where when neither is there, and reports the commit it was built from
// without running git (core/Provenance.h).

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/cli/CliFixture.h"

namespace ferlab::clitest {
namespace {

using e2e::runProgram;

// Every variable that could point the binary at the source tree's resources is removed, and
// PATH holds no git, so nothing can be found by accident.
const std::string kCleanEnv = "-u FERLAB_REPORT_ASSETS -u FERLAB_PYTHON PATH=/nonexistent";

// `git rev-parse HEAD` of the source tree, run by the test (the binary must not need to).
std::string sourceHead() {
  const std::string command =
      std::string("git -C '") + FERLAB_SOURCE_DIR + "' rev-parse HEAD 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char buffer[128] = {};
  const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, pipe);
  pclose(pipe);
  std::string head(buffer, n);
  while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.pop_back();
  return head;
}

// An assets folder with the real bundle and a vega-bundle.json whose versions name `marker`,
// so a page shows which folder it was made from.
void writeAssets(const fs::path& folder, const std::string& marker) {
  fs::create_directories(folder);
  fs::copy_file(fs::path(FERLAB_SOURCE_DIR) / "reports" / "assets" / "vega-bundle.js",
                folder / "vega-bundle.js");
  std::ofstream(folder / "vega-bundle.json")
      << R"({"vega": ")" << marker << R"(", "vega-lite": "0", "vega-embed": "0"})";
}

// base/installed/bin/ferlab with reports/assets/ beside it (the resource root is the folder
// above bin/); base/bare/bin/ferlab alone. Both outside the source and build trees.
class RelocatedBinaryTest : public CliStoreTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(fs::path(FERLAB_SOURCE_DIR) / "reports/assets/vega-bundle.js"))
        << "run scripts/setup.sh (or scripts/install_report_assets.sh) before test_cli";
    base_ = dir_ / "relocated";
    fs::remove_all(base_);
    for (const char* layout : {"installed", "bare"}) {
      fs::create_directories(base_ / layout / "bin");
      fs::copy_file(FERLAB_BINARY, base_ / layout / "bin" / "ferlab");
    }
    writeAssets(base_ / "installed" / "reports" / "assets", "beside-the-binary");
  }

  std::string installed() const { return (base_ / "installed" / "bin" / "ferlab").string(); }
  std::string bare() const { return (base_ / "bare" / "bin" / "ferlab").string(); }
  std::string out(const std::string& name) const { return (base_ / name).string(); }

  fs::path base_;
};

TEST_F(RelocatedBinaryTest, VersionCarriesTheCommitItWasBuiltFrom) {
  const std::string head = sourceHead();
  ASSERT_EQ(head.size(), 40u) << "the test needs git and the source checkout: '" << head << "'";
  const CommandResult result =
      runProgram("cd '" + base_.string() + "' && env " + kCleanEnv + " " + bare(), "version");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // "-dirty" when the tree had uncommitted changes at build time; a mismatch means the
  // binary is older than HEAD (rebuild before testing).
  const bool clean = result.output.find("(git " + head + ")") != std::string::npos;
  const bool dirty = result.output.find("(git " + head + "-dirty)") != std::string::npos;
  EXPECT_TRUE(clean || dirty) << "HEAD " << head << "\n" << result.output;
}

TEST_F(RelocatedBinaryTest, ReportFindsTheAssetsBesideTheBinary) {
  const CommandResult result = runProgram("env " + kCleanEnv + " " + installed(),
                                          "report -e grid -o " + out("beside.html") + dbArg());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string html = readFile(out("beside.html"));
  EXPECT_NE(html.find("Charts drawn with vega beside-the-binary"), std::string::npos);
  EXPECT_NE(html.find("<script>/* vega-bundle.js */"), std::string::npos);
  EXPECT_NE(html.find("grid[lr=0.001]"), std::string::npos);
}

TEST_F(RelocatedBinaryTest, ReportAssetsComeFromTheEnvironmentWhenSet) {
  writeAssets(base_ / "elsewhere", "from-the-environment");
  const CommandResult result =
      runProgram("env " + kCleanEnv + " FERLAB_REPORT_ASSETS=" + (base_ / "elsewhere").string() +
                     " " + installed(),  // the variable wins over the assets beside the binary
                 "report -e grid -o " + out("env.html") + dbArg());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(readFile(out("env.html")).find("Charts drawn with vega from-the-environment"),
            std::string::npos);
}

TEST_F(RelocatedBinaryTest, ReportWithoutAssetsFailsNamingWhereItLooked) {
  const CommandResult result = runProgram("env " + kCleanEnv + " " + bare(),
                                          "report -e grid -o " + out("no.html") + dbArg());
  EXPECT_EQ(result.exit_code, 1) << result.output;
  const std::string looked_for = (base_ / "bare" / "reports" / "assets").string();
  EXPECT_EQ(result.output.rfind("ferlab report: error: the report's chart libraries "
                                "(vega-bundle.js) not found: looked for " +
                                    looked_for + " ",
                                0),
            0u)
      << result.output;
  EXPECT_NE(result.output.find(bare()), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("set FERLAB_REPORT_ASSETS"), std::string::npos) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
  EXPECT_FALSE(fs::exists(out("no.html")));
}

TEST_F(RelocatedBinaryTest, PlotWithoutPythonFailsNamingWhereItLooked) {
  const CommandResult result =
      runProgram("env " + kCleanEnv + " " + bare(), "plot -o " + out("figures") + dbArg());
  EXPECT_EQ(result.exit_code, 1) << result.output;
  const std::string looked_for = (base_ / "bare" / ".venv" / "bin" / "python").string();
  EXPECT_NE(result.output.find("the Python interpreter with vl-convert-python not found: looked "
                               "for " +
                               looked_for + " "),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("set FERLAB_PYTHON"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace ferlab::clitest
