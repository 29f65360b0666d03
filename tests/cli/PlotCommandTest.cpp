// `ferlab plot` end to end through the real binary: Vega-Lite specs rendered by Node (SVG)
// and headless Chromium (PNG) on a store of fake runs.

#include <string>

#include <gtest/gtest.h>

#include "tests/cli/CliFixture.h"

namespace ferlab::clitest {
namespace {

const fs::path kModules = fs::path(FERLAB_SOURCE_DIR) / "node_modules";

int countOf(const std::string& text, const std::string& needle) {
  int count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

class PlotCommandTest : public CliStoreTest {
 protected:
  void SetUp() override {
    // CI runs scripts/setup.sh (node, chromium, the pinned npm packages) before the tests.
    ASSERT_TRUE(fs::exists(kModules / "vega" / "package.json"))
        << kModules << " lacks vega: run scripts/setup.sh before test_cli";
  }
};

TEST_F(PlotCommandTest, WritesSvgFiguresWithDrawnMarks) {
  const auto out = dir_ / "figures-svg";
  const auto result = runFerlab("plot --experiment grid -o " + out.string() + dbArg());
  ASSERT_EQ(result.exit_code, 0) << result.output;

  const std::string loss = readFile(out / "learning-curves-loss.svg");
  ASSERT_NE(loss.find("<svg"), std::string::npos) << result.output;
  // One train and one validation line per run with epochs (3 runs), drawn as paths.
  EXPECT_GE(countOf(loss, "class=\"mark-line"), 1);
  EXPECT_GE(countOf(loss, "<path"), 6);
  EXPECT_NE(loss.find("grid[lr=0.01]"), std::string::npos);  // legend label
  EXPECT_NE(readFile(out / "learning-curves-accuracy.svg").find("class=\"mark-line"),
            std::string::npos);

  // Confusion matrices of the two finished runs only (the failed one has no test metrics).
  for (const char* id : {"c00000000001", "c00000000002"}) {
    const std::string matrix = readFile(out / (std::string("confusion-matrix-") + id + ".svg"));
    ASSERT_NE(matrix.find("<svg"), std::string::npos) << id;
    EXPECT_NE(matrix.find("class=\"mark-rect"), std::string::npos) << id;
    EXPECT_NE(matrix.find("Surprise"), std::string::npos) << id;  // class-name axis
  }
  EXPECT_FALSE(fs::exists(out / "confusion-matrix-c00000000003.svg"));

  // Bars with bootstrap error bars for the two finished runs.
  const std::string comparison = readFile(out / "comparison.svg");
  ASSERT_NE(comparison.find("<svg"), std::string::npos);
  EXPECT_NE(comparison.find("class=\"mark-rect"), std::string::npos);
  EXPECT_NE(comparison.find("grid[lr=0.001]"), std::string::npos);
  EXPECT_EQ(comparison.find("grid[lr=1]"), std::string::npos);

  // stdout lists the files; no scratch folder is left behind.
  EXPECT_NE(result.output.find((out / "comparison.svg").string()), std::string::npos);
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(out)) {
    EXPECT_EQ(entry.path().extension(), ".svg") << entry.path();
    ++entries;
  }
  EXPECT_EQ(entries, 2 + 2 + 1);
}

TEST_F(PlotCommandTest, WritesPngThroughChromium) {
  const auto out = dir_ / "figures-png";
  const auto result = runFerlab("plot d00000000001 --format png -o " + out.string() + dbArg());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* name : {"learning-curves-loss", "learning-curves-accuracy",
                           "confusion-matrix-d00000000001", "comparison"}) {
    const std::string png = readFile(out / (std::string(name) + ".png"));
    ASSERT_GT(png.size(), 1000u) << name;
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << name;
    EXPECT_FALSE(fs::exists(out / (std::string(name) + ".svg"))) << name;
  }
  // Cropped to the chart at 2x (the screenshot window is at least 800 x 600 CSS pixels): the
  // one-bar comparison is far less tall than the window.
  const std::string png = readFile(out / "comparison.png");
  const auto big_endian = [&](std::size_t at) {
    return (static_cast<unsigned char>(png[at]) << 24) |
           (static_cast<unsigned char>(png[at + 1]) << 16) |
           (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
  };
  const unsigned height = big_endian(20);  // IHDR: width at byte 16, height at 20
  EXPECT_GT(height, 50u);
  EXPECT_LT(height, 600u);
}

TEST_F(PlotCommandTest, MissingToolsNameWhatIsMissingAndTheFix) {
  const auto out = (dir_ / "figures-missing").string();
  // The binary is started by its full path, so an empty PATH hides only node.
  const auto no_node = runFerlab("plot -o " + out + dbArg(), true, "PATH=/nonexistent");
  EXPECT_EQ(no_node.exit_code, 1);
  EXPECT_NE(no_node.output.find("node not found on PATH"), std::string::npos) << no_node.output;
  EXPECT_NE(no_node.output.find("scripts/setup.sh"), std::string::npos) << no_node.output;

  const auto no_vega =
      runFerlab("plot -o " + out + dbArg(), true, "FERLAB_ASSETS=" + (dir_ / "empty").string());
  EXPECT_EQ(no_vega.exit_code, 1);
  EXPECT_NE(no_vega.output.find("empty/vega: npm package missing"), std::string::npos)
      << no_vega.output;

  const auto no_chromium = runFerlab("plot --format png -o " + out + dbArg(), true,
                                     "FERLAB_CHROMIUM=/nonexistent/chromium");
  EXPECT_EQ(no_chromium.exit_code, 1);
  EXPECT_NE(no_chromium.output.find("/nonexistent/chromium"), std::string::npos)
      << no_chromium.output;
  EXPECT_NE(no_chromium.output.find("scripts/setup.sh"), std::string::npos);
}

TEST_F(PlotCommandTest, BadSelectionAndFormatAreUsageErrors) {
  const auto out = (dir_ / "figures-bad").string();
  const auto empty = runFerlab("plot --where train.lr=5 -o " + out + dbArg());
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.output.find("matches the selection"), std::string::npos) << empty.output;
  const auto format = runFerlab("plot --format gif -o " + out + dbArg());
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.output.find("--format 'gif'"), std::string::npos) << format.output;
  const auto resamples = runFerlab("plot --resamples 10 -o " + out + dbArg());
  EXPECT_EQ(resamples.exit_code, 2);
  const auto no_output = runFerlab("plot" + dbArg());
  EXPECT_EQ(no_output.exit_code, 2);
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace ferlab::clitest
