// End to end: `ferlab augment-preview` through the real binary on a tiny copy of FER2013
// (a few real images per class, in a temporary folder) writes a PNG grid of the documented
// pixel size, and rejects a bad config path (exit 2) and an unwritable output (exit 1).

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;

using e2e::CommandResult;
using e2e::runFerlab;

class AugmentPreviewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ferlab_preview_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    const fs::path source = fs::path(FERLAB_TEST_DATA) / "fer2013";
    for (const auto& entry : fs::directory_iterator(source / "train")) {
      const auto name = entry.path().filename();
      e2e::copyFirstFiles(entry.path(), root_ / "tiny" / "train" / name, "Training_", 5);
      e2e::copyFirstFiles(source / "test" / name, root_ / "tiny" / "test" / name, "PublicTest_", 2);
      e2e::copyFirstFiles(source / "test" / name, root_ / "tiny" / "test" / name, "PrivateTest_",
                          2);
    }
    config_ = (root_ / "preview.toml").string();
    std::ofstream(config_) << "name = \"preview\"\n"
                           << "[data]\npath = \"" << (root_ / "tiny").string() << "\"\n"
                           << "cache_dir = \"" << (root_ / "cache").string() << "\"\n"
                           << "[augment]\nhflip = 0.5\ncrop_padding = 4\naffine = 0.5\n"
                           << "rotation = 10\njitter = 0.5\nbrightness = 0.2\ncontrast = 0.2\n"
                           << "erase = 0.5\nnoise_std = 0.05\nmixup = 0.3\ncutmix = 0.3\n";
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
  std::string config_;
};

TEST_F(AugmentPreviewTest, WritesAGridOfTheDocumentedSize) {
  const auto output = (root_ / "grid.png").string();
  const auto result =
      runFerlab("augment-preview " + config_ + " -o " + output + " --rows 3 --cols 4 --seed 7");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto image = cv::imread(output, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(image.empty()) << result.output;
  // Cells of 48 x 2 = 96 pixels, each with a 14-pixel caption strip below.
  EXPECT_EQ(image.cols, 4 * 96);
  EXPECT_EQ(image.rows, 3 * (96 + 14));
  EXPECT_EQ(image.channels(), 3);
  // The first column is the original and differs from the augmented draws.
  cv::Mat grey;
  image.convertTo(grey, CV_32F);
  const cv::Mat original = grey(cv::Rect(0, 0, 96, 96)), augmented = grey(cv::Rect(96, 0, 96, 96));
  EXPECT_GT(cv::norm(original, augmented, cv::NORM_L1), 0.0);

  // The same seed draws the same grid; --set reaches the pipeline (no augmentation: every
  // column is the original).
  const auto again = (root_ / "again.png").string();
  ASSERT_EQ(runFerlab("augment-preview " + config_ + " -o " + again + " --rows 3 --cols 4 --seed 7")
                .exit_code,
            0);
  EXPECT_EQ(cv::norm(image, cv::imread(again, cv::IMREAD_UNCHANGED), cv::NORM_L1), 0.0);
  const auto plain = (root_ / "plain.png").string();
  const auto off = runFerlab(
      "augment-preview " + config_ + " -o " + plain +
      " --rows 2 --cols 3 --set augment.hflip=0 --set augment.crop_padding=0 --set augment.affine=0"
      " --set augment.jitter=0 --set augment.erase=0 --set augment.noise_std=0"
      " --set augment.mixup=0 --set augment.cutmix=0");
  ASSERT_EQ(off.exit_code, 0) << off.output;
  const auto unchanged = cv::imread(plain, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(unchanged.cols, 3 * 96);
  EXPECT_EQ(
      cv::norm(unchanged(cv::Rect(0, 0, 96, 96)), unchanged(cv::Rect(192, 0, 96, 96)), cv::NORM_L1),
      0.0);
}

TEST_F(AugmentPreviewTest, BadConfigPathIsExitTwoAndNamesThePath) {
  const auto missing = (root_ / "missing.toml").string();
  const auto result = runFerlab("augment-preview " + missing + " -o " + (root_ / "x.png").string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find(missing), std::string::npos) << result.output;
}

TEST_F(AugmentPreviewTest, OutputThatIsNotPngIsExitTwo) {
  const auto output = (root_ / "grid.jpg").string();
  const auto result = runFerlab("augment-preview " + config_ + " -o " + output);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find(output), std::string::npos) << result.output;
  EXPECT_FALSE(fs::exists(output));
}

TEST_F(AugmentPreviewTest, UnwritableOutputNamesThePath) {
  const auto output = (root_ / "no" / "such" / "folder" / "grid.png").string();
  const auto result = runFerlab("augment-preview " + config_ + " -o " + output + " --rows 1");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find(output), std::string::npos) << result.output;
}

}  // namespace
}  // namespace ferlab
