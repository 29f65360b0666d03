// `ferlab plot` end to end through the real binary: Vega-Lite specs rendered to SVG and PNG by
// vl-convert (scripts/render_vega.py in the project's .venv) on a store of fake runs.

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "tests/cli/CliFixture.h"

namespace ferlab::clitest {
namespace {

// The interpreter `ferlab plot` runs by default (FigureRenderer.h: defaultPython()).
fs::path venvPython() {
  const char* configured = std::getenv("FERLAB_PYTHON");
  if (configured != nullptr && *configured != '\0') return configured;
  return fs::path(FERLAB_SOURCE_DIR) / ".venv" / "bin" / "python";
}

int countOf(const std::string& text, const std::string& needle) {
  int count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// Width and height in pixels from a PNG's IHDR chunk (big-endian, at bytes 16 and 20).
std::pair<unsigned, unsigned> pngSize(const std::string& png) {
  const auto big_endian = [&](std::size_t at) {
    return (static_cast<unsigned char>(png[at]) << 24) |
           (static_cast<unsigned char>(png[at + 1]) << 16) |
           (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
  };
  return {big_endian(16), big_endian(20)};
}

// The width="..." and height="..." of the root <svg> element, in CSS pixels.
std::pair<unsigned, unsigned> svgSize(const std::string& svg) {
  const auto attribute = [&](const std::string& name) {
    const std::size_t at = svg.find(" " + name + "=\"", svg.find("<svg"));
    return at == std::string::npos
               ? 0u
               : static_cast<unsigned>(std::stoul(svg.substr(at + name.size() + 3)));
  };
  return {attribute("width"), attribute("height")};
}

class PlotCommandTest : public CliStoreTest {
 protected:
  void SetUp() override {
    // CI runs scripts/setup.sh (.venv with the pinned vl-convert-python) before the tests.
    ASSERT_TRUE(fs::exists(venvPython()))
        << venvPython() << " missing: run scripts/setup.sh before test_cli";
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

TEST_F(PlotCommandTest, WritesPngAtTwiceTheSvgSize) {
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
  EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 4);

  // With both formats, every PNG is the SVG's CSS-pixel size at the default scale of 2.
  const auto both = dir_ / "figures-both";
  const auto again = runFerlab("plot d00000000001 --format both -o " + both.string() + dbArg());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  for (const char* name : {"learning-curves-loss", "confusion-matrix-d00000000001", "comparison"}) {
    const auto [svg_width, svg_height] = svgSize(readFile(both / (std::string(name) + ".svg")));
    const auto [png_width, png_height] = pngSize(readFile(both / (std::string(name) + ".png")));
    EXPECT_GT(svg_width, 50u) << name;
    EXPECT_GT(svg_height, 50u) << name;
    EXPECT_EQ(png_width, 2 * svg_width) << name;
    EXPECT_EQ(png_height, 2 * svg_height) << name;
  }
}

// Figures need only the Python environment: no browser and no Node.js, so an empty PATH
// (the binary and the interpreter are started by their full paths) changes nothing.
TEST_F(PlotCommandTest, NeedsNoProgramOnPath) {
  const auto out = dir_ / "figures-no-path";
  const auto result = runFerlab("plot d00000000001 --format both -o " + out.string() + dbArg(),
                                true, "PATH=/nonexistent");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(readFile(out / "comparison.svg").find("class=\"mark-rect"), std::string::npos);
  EXPECT_GT(readFile(out / "comparison.png").size(), 1000u);
}

TEST_F(PlotCommandTest, MissingPythonOrVlConvertNamesWhatIsMissingAndTheFix) {
  const auto out = (dir_ / "figures-missing").string();
  const auto no_python =
      runFerlab("plot -o " + out + dbArg(), true, "FERLAB_PYTHON=/nonexistent/python");
  EXPECT_EQ(no_python.exit_code, 1);
  EXPECT_NE(no_python.output.find("FERLAB_PYTHON=/nonexistent/python: no such Python interpreter"),
            std::string::npos)
      << no_python.output;
  EXPECT_NE(no_python.output.find("scripts/setup.sh"), std::string::npos) << no_python.output;

  // The project's interpreter without site-packages (-S) is a Python that lacks
  // vl-convert-python.
  const fs::path bare = dir_ / "bare python";
  std::ofstream(bare) << "#!/bin/sh\nexec '" << venvPython().string() << "' -S \"$@\"\n";
  fs::permissions(bare, fs::perms::owner_all);
  const auto no_vl_convert =
      runFerlab("plot -o " + out + dbArg(), true, "FERLAB_PYTHON='" + bare.string() + "'");
  EXPECT_EQ(no_vl_convert.exit_code, 1);
  EXPECT_NE(no_vl_convert.output.find(bare.string() +
                                      ": the Python package vl-convert-python (module vl_convert) "
                                      "is missing: run scripts/setup.sh"),
            std::string::npos)
      << no_vl_convert.output;
  EXPECT_FALSE(fs::exists(fs::path(out) / "comparison.svg"));
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
