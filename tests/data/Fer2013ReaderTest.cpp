#include "framework/data/Fer2013Reader.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "framework/core/Errors.h"
#include "tests/data/Fixtures.h"

namespace ferlab::data {
namespace {

namespace fs = std::filesystem;
using namespace ::ferlab::data::testing;

void writeText(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string pixelText(const cv::Mat& image) {
  std::string text;
  for (int row = 0; row < image.rows; ++row) {
    for (int col = 0; col < image.cols; ++col) {
      if (!text.empty()) text += ' ';
      text += std::to_string(image.at<std::uint8_t>(row, col));
    }
  }
  return text;
}

const char* usageOf(Split split) {
  return splitName(split);
}

// One CSV row per sample of `folderDataset`, generated from the real image files (decoded
// here with OpenCV directly, not through the reader under test).
std::vector<std::string> csvRowsFrom(const Dataset& folderDataset, const fs::path& root) {
  std::vector<std::string> rows;
  for (std::size_t i = 0; i < folderDataset.size(); ++i) {
    const cv::Mat image =
        cv::imread((root / folderDataset.sample_ids[i]).string(), cv::IMREAD_GRAYSCALE);
    rows.push_back(fmt::format("{},{},{}", folderDataset.labels[i], pixelText(image),
                               usageOf(folderDataset.splits[i])));
  }
  return rows;
}

std::string joinLines(const std::string& header, const std::vector<std::string>& rows) {
  std::string text = header + "\n";
  for (const std::string& row : rows) text += row + "\n";
  return text;
}

// The message of the DataError `action` throws; a test failure when it throws none.

std::string splitFolderClass(const std::string& sampleId) {
  // "train/happy/Training_1.jpg" -> "happy"
  const fs::path path(sampleId);
  return path.parent_path().filename().string();
}

TEST(ImageFolder, ReadsOfficialSplitsFromPrefixes) {
  TempDir dir;
  buildOfficialLayout(dir.path());
  SplitCoverage coverage;
  const Dataset dataset = readImageFolder(dir.path().string(), 48, &coverage);

  EXPECT_TRUE(coverage.has_val);
  EXPECT_TRUE(coverage.has_test);
  ASSERT_EQ(dataset.size(), 7u * 7u);
  EXPECT_EQ(dataset.class_names, fer2013ClassNames());
  EXPECT_EQ(dataset.classCounts(Split::Train), std::vector<std::int64_t>(7, 3));
  EXPECT_EQ(dataset.classCounts(Split::Val), std::vector<std::int64_t>(7, 2));
  EXPECT_EQ(dataset.classCounts(Split::Test), std::vector<std::int64_t>(7, 2));
  EXPECT_EQ(dataset.pixels.size(), dataset.size() * 48 * 48);
  EXPECT_TRUE(std::is_sorted(dataset.sample_ids.begin(), dataset.sample_ids.end()));
  EXPECT_TRUE(dataset.key.empty());

  for (std::size_t i = 0; i < dataset.size(); ++i) {
    const std::string& id = dataset.sample_ids[i];
    EXPECT_EQ(dataset.class_names[dataset.labels[i]], splitFolderClass(id)) << id;
    const std::string fileName = fs::path(id).filename().string();
    EXPECT_EQ(fileName.rfind(splitName(dataset.splits[i]), 0), 0u) << id;
    const cv::Mat expected = cv::imread((dir.path() / id).string(), cv::IMREAD_GRAYSCALE);
    ASSERT_EQ(expected.rows, 48);
    EXPECT_TRUE(std::equal(expected.datastart, expected.dataend,
                           dataset.pixels.begin() + static_cast<long>(i * 48 * 48)))
        << id;
  }
}

TEST(ImageFolder, NeutralFolderIsLabelSixAsInTheCsv) {
  TempDir dir;
  copyInto(realImages("train", "neutral", "Training_", 1), dir.path() / "neutral");
  copyInto(realImages("train", "sad", "Training_", 1), dir.path() / "sad");
  const Dataset dataset = readImageFolder(dir.path().string(), 48, nullptr);
  ASSERT_EQ(dataset.size(), 2u);
  EXPECT_EQ(dataset.labels[0], 6);  // "neutral/..." sorts first
  EXPECT_EQ(dataset.labels[1], 4);
}

TEST(ImageFolder, ClassLayoutWithoutPrefixesIsAllTraining) {
  TempDir dir;
  for (const char* name : kClasses) {
    copyInto(realImages("train", name, "Training_", 2), dir.path() / name, "face_");
  }
  SplitCoverage coverage{true, true};
  const Dataset dataset = readImageFolder(dir.path().string(), 48, &coverage);
  EXPECT_FALSE(coverage.has_val);
  EXPECT_FALSE(coverage.has_test);
  EXPECT_EQ(dataset.classCounts(Split::Train), std::vector<std::int64_t>(7, 2));
  EXPECT_EQ(dataset.indicesOf(Split::Train).size(), dataset.size());
  EXPECT_EQ(dataset.sample_ids.front(), "angry/face_00.jpg");
}

TEST(ImageFolder, SplitFoldersWithoutPrefixesGiveTrainAndTest) {
  TempDir dir;
  for (const char* name : kClasses) {
    copyInto(realImages("train", name, "Training_", 2), dir.path() / "train" / name, "img_");
    copyInto(realImages("test", name, "PrivateTest_", 1), dir.path() / "test" / name, "img_");
  }
  SplitCoverage coverage;
  const Dataset dataset = readImageFolder(dir.path().string(), 48, &coverage);
  EXPECT_FALSE(coverage.has_val);
  EXPECT_TRUE(coverage.has_test);
  EXPECT_EQ(dataset.classCounts(Split::Train), std::vector<std::int64_t>(7, 2));
  EXPECT_EQ(dataset.classCounts(Split::Test), std::vector<std::int64_t>(7, 1));
  EXPECT_TRUE(dataset.indicesOf(Split::Val).empty());
}

TEST(ImageFolder, IgnoresHiddenAndNonImageFiles) {
  TempDir dir;
  buildOfficialLayout(dir.path());
  const Dataset clean = readImageFolder(dir.path().string(), 48, nullptr);
  writeText(dir.path() / "README.txt", "FER2013\n");
  writeText(dir.path() / "train" / "happy" / ".DS_Store", "junk");
  writeText(dir.path() / "train" / "happy" / "._Training_1.jpg", "AppleDouble junk");
  writeText(dir.path() / "test" / "sad" / "labels.csv", "a,b\n");
  fs::create_directories(dir.path() / ".git");
  const Dataset withJunk = readImageFolder(dir.path().string(), 48, nullptr);
  EXPECT_EQ(withJunk.sample_ids, clean.sample_ids);
  EXPECT_EQ(withJunk.pixels, clean.pixels);
}

TEST(ImageFolder, PngCopyDecodesLikeTheJpeg) {
  TempDir dir;
  const fs::path jpeg = realImages("train", "fear", "Training_", 1).front();
  const cv::Mat decoded = cv::imread(jpeg.string(), cv::IMREAD_GRAYSCALE);
  fs::create_directories(dir.path() / "fear");
  ASSERT_TRUE(cv::imwrite((dir.path() / "fear" / "face.png").string(), decoded));
  const Dataset dataset = readImageFolder(dir.path().string(), 48, nullptr);
  ASSERT_EQ(dataset.size(), 1u);
  EXPECT_TRUE(std::equal(decoded.datastart, decoded.dataend, dataset.pixels.begin()));
}

TEST(ImageFolderErrors, UndecodableImageNamesTheFile) {
  TempDir dir;
  buildOfficialLayout(dir.path());
  const fs::path bad = dir.path() / "train" / "happy" / "Training_0bad.jpg";
  writeText(bad, "this is not a JPEG");
  EXPECT_EQ(dataErrorOf([&] { readImageFolder(dir.path().string(), 48, nullptr); }),
            bad.string() + ": cannot decode image");
}

TEST(ImageFolderErrors, EmptyImageFileNamesTheFile) {
  TempDir dir;
  buildOfficialLayout(dir.path());
  const fs::path bad = dir.path() / "test" / "sad" / "PublicTest_0empty.jpg";
  writeText(bad, "");
  EXPECT_EQ(dataErrorOf([&] { readImageFolder(dir.path().string(), 48, nullptr); }),
            bad.string() + ": cannot decode image");
}

TEST(ImageFolderErrors, WrongSizeNamesFileAndSizes) {
  TempDir dir;
  buildOfficialLayout(dir.path());
  const cv::Mat face = cv::imread(realImages("train", "happy", "Training_", 1).front().string(),
                                  cv::IMREAD_GRAYSCALE);
  cv::Mat larger;
  cv::resize(face, larger, cv::Size(64, 64));
  const fs::path bad = dir.path() / "train" / "happy" / "Training_0big.jpg";
  ASSERT_TRUE(cv::imwrite(bad.string(), larger));
  EXPECT_EQ(dataErrorOf([&] { readImageFolder(dir.path().string(), 48, nullptr); }),
            bad.string() + ": image is 64x64 pixels, expected 48x48");
}

TEST(ImageFolderErrors, UnknownClassFolderListsTheClasses) {
  TempDir dir;
  buildOfficialLayout(dir.path());
  copyInto(realImages("train", "happy", "Training_", 1), dir.path() / "train" / "happyy");
  EXPECT_EQ(dataErrorOf([&] { readImageFolder(dir.path().string(), 48, nullptr); }),
            (dir.path() / "train").string() +
                ": unknown class folder 'happyy' (expected one of angry, disgust, fear, happy, "
                "sad, surprise, neutral)");
}

TEST(ImageFolderErrors, UnprefixedFileAmongPrefixedOnesNamesTheFile) {
  TempDir dir;
  buildOfficialLayout(dir.path());
  copyInto(realImages("train", "happy", "Training_", 1), dir.path() / "train" / "happy", "face_");
  const std::string message =
      dataErrorOf([&] { readImageFolder(dir.path().string(), 48, nullptr); });
  EXPECT_EQ(message.rfind((dir.path() / "train" / "happy" / "face_00.jpg").string() + ": ", 0), 0u)
      << message;
  EXPECT_NE(message.find("prefix"), std::string::npos) << message;
}

TEST(ImageFolderErrors, LayoutProblemsNameThePath) {
  TempDir dir;
  const fs::path missing = dir.path() / "nowhere";
  EXPECT_EQ(dataErrorOf([&] { readImageFolder(missing.string(), 48, nullptr); }),
            missing.string() + ": does not exist");
  EXPECT_NE(dataErrorOf([&] {
              readImageFolder(dir.path().string(), 48, nullptr);
            }).find("no images found"),
            std::string::npos);

  buildOfficialLayout(dir.path());
  copyInto(realImages("train", "happy", "Training_", 1), dir.path() / "val" / "happy");
  EXPECT_EQ(dataErrorOf([&] { readImageFolder(dir.path().string(), 48, nullptr); }),
            dir.path().string() + ": unexpected folder 'val' (expected train/ and test/)");
  fs::remove_all(dir.path() / "val");

  copyInto(realImages("train", "happy", "Training_", 1), dir.path() / "train");
  const std::string stray = dataErrorOf([&] { readImageFolder(dir.path().string(), 48, nullptr); });
  EXPECT_NE(stray.find("image outside a class folder"), std::string::npos) << stray;
}

// ---------------------------------------------------------------- challenge CSV ----

class ChallengeCsv : public ::testing::Test {
 protected:
  void SetUp() override {
    buildOfficialLayout(dir_.path() / "images");
    folder_ = readImageFolder((dir_.path() / "images").string(), 48, nullptr);
    rows_ = csvRowsFrom(folder_, dir_.path() / "images");
    csvPath_ = dir_.path() / "fer2013.csv";
  }

  // Writes the CSV with rows_ (optionally edited) and returns its path.
  std::string write(const std::string& header = "emotion,pixels,Usage") {
    writeText(csvPath_, joinLines(header, rows_));
    return csvPath_.string();
  }
  std::string errorOf(const std::string& path) {
    return dataErrorOf([&] { readChallengeCsv(path, 48, nullptr); });
  }

  TempDir dir_;
  Dataset folder_;
  std::vector<std::string> rows_;
  fs::path csvPath_;
};

TEST_F(ChallengeCsv, EqualsTheFolderReaderOnTheSameImages) {
  SplitCoverage coverage;
  const Dataset csv = readChallengeCsv(write(), 48, &coverage);
  EXPECT_TRUE(coverage.has_val);
  EXPECT_TRUE(coverage.has_test);
  ASSERT_EQ(csv.size(), folder_.size());
  EXPECT_EQ(csv.class_names, folder_.class_names);
  EXPECT_EQ(csv.labels, folder_.labels);
  EXPECT_EQ(csv.splits, folder_.splits);
  EXPECT_EQ(csv.pixels, folder_.pixels);
  EXPECT_EQ(csv.sample_ids.front(), "fer2013.csv:2");
  EXPECT_EQ(csv.sample_ids.back(), fmt::format("fer2013.csv:{}", csv.size() + 1));
}

TEST_F(ChallengeCsv, ColumnsInAnyOrderCrlfAndQuotes) {
  std::string text = "Usage,\"pixels\",emotion\r\n";
  for (std::size_t i = 0; i < folder_.size(); ++i) {
    const cv::Mat image =
        cv::imread((dir_.path() / "images" / folder_.sample_ids[i]).string(), cv::IMREAD_GRAYSCALE);
    text += fmt::format("{},\"{}\",{}\r\n", splitName(folder_.splits[i]), pixelText(image),
                        folder_.labels[i]);
  }
  writeText(csvPath_, text + "\r\n");  // a trailing blank line is not a row
  const Dataset csv = readChallengeCsv(csvPath_.string(), 48, nullptr);
  EXPECT_EQ(csv.labels, folder_.labels);
  EXPECT_EQ(csv.splits, folder_.splits);
  EXPECT_EQ(csv.pixels, folder_.pixels);
}

TEST_F(ChallengeCsv, WithoutUsageEveryRowIsTraining) {
  for (std::string& row : rows_) row = row.substr(0, row.rfind(','));
  SplitCoverage coverage{true, true};
  const Dataset csv = readChallengeCsv(write("emotion,pixels"), 48, &coverage);
  EXPECT_FALSE(coverage.has_val);
  EXPECT_FALSE(coverage.has_test);
  EXPECT_EQ(csv.indicesOf(Split::Train).size(), csv.size());
  EXPECT_EQ(csv.pixels, folder_.pixels);
}

TEST_F(ChallengeCsv, MissingHeaderColumnNamesFileAndLine) {
  const std::string message = errorOf(write("emotion,pixelz,Usage"));
  EXPECT_EQ(message.rfind(csvPath_.string() + ":1: missing column 'pixels'", 0), 0u) << message;
}

TEST_F(ChallengeCsv, WrongPixelCountNamesFileAndLine) {
  std::string& row = rows_[1];  // line 3
  const std::size_t lastSpace = row.rfind(' ');
  row = row.substr(0, lastSpace) + row.substr(row.rfind(','));
  EXPECT_EQ(errorOf(write()), csvPath_.string() + ":3: expected 2304 pixel values, got 2303");
}

TEST_F(ChallengeCsv, BadPixelValuesNameFileAndLine) {
  const std::string original = rows_[0];
  rows_[0] = original.substr(0, 2) + "x1 " + original.substr(2);
  EXPECT_EQ(errorOf(write()), csvPath_.string() + ":2: pixel value 'x1' is not an integer 0..255");
  rows_[0] = original.substr(0, 2) + "256 " + original.substr(2);
  EXPECT_EQ(errorOf(write()), csvPath_.string() + ":2: pixel value 256 out of range 0..255");
  rows_[0] = original.substr(0, 2) + "-3 " + original.substr(2);
  EXPECT_EQ(errorOf(write()), csvPath_.string() + ":2: pixel value '-3' is not an integer 0..255");
}

TEST_F(ChallengeCsv, BadLabelsNameFileAndLine) {
  const std::string original = rows_[4];  // line 6
  const std::string rest = original.substr(original.find(','));
  rows_[4] = "7" + rest;
  EXPECT_EQ(errorOf(write()), csvPath_.string() + ":6: emotion 7 out of range 0..6");
  rows_[4] = "-1" + rest;
  EXPECT_EQ(errorOf(write()), csvPath_.string() + ":6: emotion -1 out of range 0..6");
  rows_[4] = "happy" + rest;
  EXPECT_EQ(errorOf(write()), csvPath_.string() + ":6: emotion 'happy' is not an integer");
}

TEST_F(ChallengeCsv, UnknownUsageNamesFileAndLine) {
  std::string& row = rows_.back();
  row = row.substr(0, row.rfind(',')) + ",Validation";
  EXPECT_EQ(errorOf(write()),
            fmt::format("{}:{}: unknown Usage 'Validation' (expected Training, PublicTest or "
                        "PrivateTest)",
                        csvPath_.string(), rows_.size() + 1));
}

TEST_F(ChallengeCsv, WrongFieldCountNamesFileAndLine) {
  rows_[0] += ",extra";
  EXPECT_EQ(errorOf(write()), csvPath_.string() + ":2: expected 3 fields, got 4");
}

// The gallery's lookup: only the requested rows, decoded exactly as the whole-file reader does.
TEST_F(ChallengeCsv, ReadsOnlyTheRequestedLines) {
  const Dataset all = readChallengeCsv(write(), 48, nullptr);
  ASSERT_GE(all.size(), 5u);
  // Line 1 is the header and the last line is past the end: both are left out; order and
  // repeats in the request do not matter.
  const std::size_t past_end = all.size() + 2;
  const Dataset some = readChallengeCsvLines(csvPath_.string(), {5, 2, past_end, 1, 3, 5}, 48);
  const std::vector<std::size_t> rows = {0, 1, 3};  // lines 2, 3 and 5
  ASSERT_EQ(some.size(), rows.size());
  EXPECT_EQ(some.class_names, all.class_names);
  const std::size_t pixels = 48 * 48;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(some.sample_ids[i], all.sample_ids[rows[i]]);
    EXPECT_EQ(some.labels[i], all.labels[rows[i]]);
    EXPECT_EQ(some.splits[i], all.splits[rows[i]]);
    EXPECT_TRUE(std::equal(some.pixels.begin() + i * pixels, some.pixels.begin() + (i + 1) * pixels,
                           all.pixels.begin() + rows[i] * pixels))
        << some.sample_ids[i];
  }
  EXPECT_EQ(some.pixels.size(), rows.size() * pixels);
  EXPECT_EQ(readChallengeCsvLines(csvPath_.string(), {}, 48).size(), 0u);
}

TEST_F(ChallengeCsv, RequestedLinesAreValidatedAndOthersNotRead) {
  std::string& row = rows_[2];  // line 4
  row = row.substr(0, row.rfind(' ')) + row.substr(row.rfind(','));
  const std::string path = write();
  // Line 4 is malformed, but only lines 2 and 3 are asked for.
  EXPECT_EQ(readChallengeCsvLines(path, {2, 3}, 48).size(), 2u);
  EXPECT_EQ(dataErrorOf([&] {
              readChallengeCsvLines(path, {2, 4}, 48);
            }),
            path + ":4: expected 2304 pixel values, got 2303");
  EXPECT_EQ(dataErrorOf([&] { readChallengeCsvLines(path + ".missing", {2}, 48); }),
            path + ".missing: does not exist");
  EXPECT_EQ(dataErrorOf([&] { readChallengeCsvLines(dir_.path().string(), {2}, 48); }),
            dir_.path().string() + ": is a folder");
}

// ---------------------------------------------------------------- the real dataset ----

TEST(RealFer2013, FolderCountsMatchTheReadme) {
  const auto start = std::chrono::steady_clock::now();
  SplitCoverage coverage;
  const Dataset dataset = readImageFolder(kFer2013.string(), 48, &coverage);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("seconds", std::to_string(seconds));

  EXPECT_TRUE(coverage.has_val);
  EXPECT_TRUE(coverage.has_test);
  ASSERT_EQ(dataset.size(), 35887u);
  EXPECT_EQ(dataset.pixels.size(), 35887u * 48 * 48);
  // ../shared/data/README.md, in the CSV label order angry disgust fear happy sad surprise
  // neutral.
  EXPECT_EQ(dataset.classCounts(Split::Train),
            (std::vector<std::int64_t>{3995, 436, 4097, 7215, 4830, 3171, 4965}));
  EXPECT_EQ(dataset.classCounts(Split::Val),
            (std::vector<std::int64_t>{467, 56, 496, 895, 653, 415, 607}));
  EXPECT_EQ(dataset.classCounts(Split::Test),
            (std::vector<std::int64_t>{491, 55, 528, 879, 594, 416, 626}));
  EXPECT_EQ(dataset.indicesOf(Split::Train).size(), 28709u);
  EXPECT_EQ(dataset.indicesOf(Split::Val).size(), 3589u);
  EXPECT_EQ(dataset.indicesOf(Split::Test).size(), 3589u);
}

TEST(OpenCv, VersionIsFour) {
  EXPECT_EQ(opencvVersion().rfind("4.", 0), 0u) << opencvVersion();
}

}  // namespace
}  // namespace ferlab::data
