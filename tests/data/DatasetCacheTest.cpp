#include "framework/data/DatasetCache.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/data/Fer2013Reader.h"
#include "tests/data/Fixtures.h"

namespace ferlab::data {
namespace {

namespace fs = std::filesystem;
using namespace ::ferlab::data::testing;

// root/<class>/face_NN.jpg: `perClass` real training images, no official split at all.
void buildClassLayout(const fs::path& root, std::size_t perClass) {
  for (const char* name : kClasses) {
    copyInto(realImages("train", name, "Training_", perClass), root / name, "face_");
  }
}

std::string fileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<fs::path> filesIn(const fs::path& folder) {
  std::vector<fs::path> files;
  if (!fs::exists(folder)) return files;
  for (const auto& entry : fs::directory_iterator(folder)) files.push_back(entry.path());
  return files;
}

void expectSameDataset(const Dataset& a, const Dataset& b) {
  EXPECT_EQ(a.image_size, b.image_size);
  EXPECT_EQ(a.class_names, b.class_names);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.splits, b.splits);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_EQ(a.sample_ids, b.sample_ids);
  EXPECT_EQ(a.key, b.key);
}

// A data folder and a cache folder in one temp dir; quiet logs so test output stays short.
class LoadDataset : public ::testing::Test {
 protected:
  void SetUp() override {
    savedLevel_ = log::threshold();
    log::setThreshold(log::Level::Error);
    config_.path = (dir_.path() / "fer2013").string();
    config_.cache_dir = (dir_.path() / "cache").string();
  }
  void TearDown() override { log::setThreshold(savedLevel_); }

  Dataset load(LoadInfo* info = nullptr) { return loadDataset(config_, info); }
  fs::path dataRoot() const { return dir_.path() / "fer2013"; }
  fs::path cacheDir() const { return dir_.path() / "cache"; }

  TempDir dir_;
  config::DataConfig config_;
  log::Level savedLevel_ = log::Level::Info;
};

// ---------------------------------------------------------------- cache file ----

TEST_F(LoadDataset, CacheFileRoundTripIsByteIdentical) {
  buildOfficialLayout(dataRoot());
  Dataset dataset = readImageFolder(dataRoot().string(), 48, nullptr);
  dataset.key = "round-trip-key";
  const fs::path first = dir_.path() / "first.fercache";
  writeDatasetCache(dataset, first.string());
  const std::optional<Dataset> read = readDatasetCache(first.string());
  ASSERT_TRUE(read.has_value());
  expectSameDataset(*read, dataset);

  const fs::path second = dir_.path() / "second.fercache";
  writeDatasetCache(*read, second.string());
  EXPECT_EQ(fileBytes(first), fileBytes(second));
  EXPECT_EQ(fileBytes(first).substr(0, 8), "FERLABDS");
  // Only the two entries: the temporary files were renamed, not left behind.
  EXPECT_EQ(filesIn(dir_.path()).size(), 3u);  // fer2013/, first, second
}

TEST_F(LoadDataset, MissingTruncatedOrCorruptCacheIsAMiss) {
  buildOfficialLayout(dataRoot());
  Dataset dataset = readImageFolder(dataRoot().string(), 48, nullptr);
  const fs::path path = dir_.path() / "entry.fercache";
  EXPECT_FALSE(readDatasetCache(path.string()).has_value());

  writeDatasetCache(dataset, path.string());
  const std::string bytes = fileBytes(path);
  for (std::size_t size :
       {std::size_t{0}, std::size_t{7}, std::size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, size);
    EXPECT_FALSE(readDatasetCache(path.string()).has_value()) << "truncated to " << size;
  }
  std::string flipped = bytes;
  flipped[bytes.size() / 2] = static_cast<char>(flipped[bytes.size() / 2] ^ 0x01);  // a pixel
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
  EXPECT_FALSE(readDatasetCache(path.string()).has_value());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes << "x";
  EXPECT_FALSE(readDatasetCache(path.string()).has_value());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_TRUE(readDatasetCache(path.string()).has_value());
}

// ---------------------------------------------------------------- loadDataset ----

TEST_F(LoadDataset, SecondLoadHitsTheCache) {
  buildOfficialLayout(dataRoot());
  LoadInfo cold, warm;
  const Dataset first = load(&cold);
  EXPECT_FALSE(cold.from_cache);
  EXPECT_EQ(first.key.size(), 16u);
  EXPECT_EQ(fs::path(cold.cache_path), cacheDir() / (first.key + ".fercache"));
  EXPECT_TRUE(fs::is_regular_file(cold.cache_path));
  EXPECT_GT(cold.seconds, 0.0);

  const Dataset second = load(&warm);
  EXPECT_TRUE(warm.from_cache);
  EXPECT_EQ(warm.cache_path, cold.cache_path);
  expectSameDataset(second, first);
  EXPECT_EQ(second.classCounts(Split::Val), std::vector<std::int64_t>(7, 2));
  EXPECT_EQ(filesIn(cacheDir()).size(), 1u);
}

TEST_F(LoadDataset, TruncatedCacheIsDecodedAgainAndRewritten) {
  buildOfficialLayout(dataRoot());
  LoadInfo info;
  const Dataset first = load(&info);
  fs::resize_file(info.cache_path, fs::file_size(info.cache_path) / 2);
  const Dataset second = load(&info);
  EXPECT_FALSE(info.from_cache);
  expectSameDataset(second, first);
  load(&info);
  EXPECT_TRUE(info.from_cache);
}

TEST_F(LoadDataset, ChangingAFilesBytesChangesTheKey) {
  buildOfficialLayout(dataRoot());
  const std::string before = load().key;
  // Another real face in place of the first happy training image, same name.
  const std::vector<fs::path> happy = realImages("train", "happy", "Training_", 1);
  const fs::path replaced = dataRoot() / "train" / "happy" / happy.front().filename();
  fs::copy_file(realImages("train", "happy", "Training_", 1, 10).front(), replaced,
                fs::copy_options::overwrite_existing);
  LoadInfo info;
  const Dataset after = load(&info);
  EXPECT_NE(after.key, before);
  EXPECT_FALSE(info.from_cache);
  EXPECT_EQ(filesIn(cacheDir()).size(), 2u);
}

TEST_F(LoadDataset, RenamingAFileChangesTheKey) {
  buildOfficialLayout(dataRoot());
  const std::string before = load().key;
  const fs::path from = realImages("train", "fear", "Training_", 1).front().filename();
  fs::rename(dataRoot() / "train" / "fear" / from,
             dataRoot() / "train" / "fear" / "Training_0.jpg");
  EXPECT_NE(load().key, before);
}

TEST_F(LoadDataset, ImageSizeIsPartOfTheKey) {
  buildOfficialLayout(dataRoot());
  load();
  // Served from the 48-pixel entry this would succeed; decoded, every image is the wrong size.
  config_.image_size = 64;
  const std::string message = dataErrorOf([&] { load(); });
  EXPECT_NE(message.find("image is 48x48 pixels, expected 64x64"), std::string::npos) << message;
}

TEST_F(LoadDataset, SplitSettingsCountOnlyWhenASplitIsCarved) {
  buildOfficialLayout(dataRoot());
  LoadInfo info;
  const std::string official = load().key;
  config_.split_seed = 99;
  config_.val_fraction = 0.2;
  EXPECT_EQ(load(&info).key, official);
  EXPECT_TRUE(info.from_cache);

  TempDir other;
  config_ = config::DataConfig();
  config_.path = (other.path() / "faces").string();
  config_.cache_dir = (other.path() / "cache").string();
  buildClassLayout(other.path() / "faces", 10);
  const std::string carved = load().key;
  config_.split_seed = 99;
  const std::string reseeded = load().key;
  config_.val_fraction = 0.2;
  const std::string refractioned = load().key;
  EXPECT_NE(reseeded, carved);
  EXPECT_NE(refractioned, reseeded);
}

TEST_F(LoadDataset, BadImageThrowsAndCachesNothing) {
  buildOfficialLayout(dataRoot());
  const fs::path bad = dataRoot() / "test" / "surprise" / "PrivateTest_0bad.jpg";
  std::ofstream(bad, std::ios::binary) << "not an image";
  EXPECT_EQ(dataErrorOf([&] { load(); }), bad.string() + ": cannot decode image");
  EXPECT_TRUE(filesIn(cacheDir()).empty());
}

TEST_F(LoadDataset, CarvedSplitsAreStratifiedSeededAndDeterministic) {
  buildClassLayout(dataRoot(), 20);
  config_.val_fraction = 0.1;
  config_.test_fraction = 0.15;
  const Dataset first = load();
  EXPECT_EQ(first.classCounts(Split::Val), std::vector<std::int64_t>(7, 2));   // round(2.0)
  EXPECT_EQ(first.classCounts(Split::Test), std::vector<std::int64_t>(7, 3));  // round(3.0)
  EXPECT_EQ(first.classCounts(Split::Train), std::vector<std::int64_t>(7, 15));

  // Decoded afresh (another cache folder), the same seed carves the same split.
  config_.cache_dir = (dir_.path() / "cache2").string();
  LoadInfo info;
  const Dataset again = load(&info);
  EXPECT_FALSE(info.from_cache);
  EXPECT_EQ(again.splits, first.splits);

  config_.split_seed = 4321;
  const Dataset reseeded = load();
  EXPECT_NE(reseeded.splits, first.splits);
  EXPECT_EQ(reseeded.classCounts(Split::Val), first.classCounts(Split::Val));
}

TEST_F(LoadDataset, TestFolderWithoutPrefixesKeepsItsTestSplit) {
  for (const char* name : kClasses) {
    copyInto(realImages("train", name, "Training_", 10), dataRoot() / "train" / name, "img_");
    copyInto(realImages("test", name, "PrivateTest_", 3), dataRoot() / "test" / name, "img_");
  }
  const Dataset dataset = load();
  EXPECT_EQ(dataset.classCounts(Split::Test), std::vector<std::int64_t>(7, 3));
  EXPECT_EQ(dataset.classCounts(Split::Val), std::vector<std::int64_t>(7, 1));
  EXPECT_EQ(dataset.classCounts(Split::Train), std::vector<std::int64_t>(7, 9));
  for (std::size_t i : dataset.indicesOf(Split::Test)) {
    EXPECT_EQ(dataset.sample_ids[i].rfind("test/", 0), 0u) << dataset.sample_ids[i];
  }
}

TEST_F(LoadDataset, SubsetsShareTheFullCacheEntry) {
  buildClassLayout(dataRoot(), 20);
  const Dataset full = load();
  config_.subset = 0.5;
  LoadInfo info;
  const Dataset half = load(&info);
  EXPECT_TRUE(info.from_cache);
  EXPECT_EQ(half.key, full.key + "+train0.5s1234");
  EXPECT_EQ(half.classCounts(Split::Train), std::vector<std::int64_t>(7, 8));
  // data.subset thins training only: validation and test stay whole.
  EXPECT_EQ(half.classCounts(Split::Val), full.classCounts(Split::Val));
  EXPECT_EQ(half.classCounts(Split::Test), full.classCounts(Split::Test));
  EXPECT_EQ(filesIn(cacheDir()).size(), 1u);

  config_.subset = 56;
  config_.subset_is_count = true;
  const Dataset counted = load(&info);
  EXPECT_TRUE(info.from_cache);
  EXPECT_EQ(counted.indicesOf(Split::Train).size(), 56u);
  EXPECT_EQ(counted.key, full.key + "+train56s1234");
}

TEST_F(LoadDataset, ReadsCsvAndCachesIt) {
  buildOfficialLayout(dataRoot());
  const Dataset folder = readImageFolder(dataRoot().string(), 48, nullptr);
  std::string text = "emotion,pixels,Usage\n";
  for (std::size_t i = 0; i < folder.size(); ++i) {
    const cv::Mat image =
        cv::imread((dataRoot() / folder.sample_ids[i]).string(), cv::IMREAD_GRAYSCALE);
    std::string pixels;
    for (const std::uint8_t* p = image.datastart; p != image.dataend; ++p) {
      pixels += (pixels.empty() ? "" : " ") + std::to_string(*p);
    }
    text += fmt::format("{},{},{}\n", folder.labels[i], pixels, splitName(folder.splits[i]));
  }
  const fs::path csv = dir_.path() / "fer2013.csv";
  std::ofstream(csv, std::ios::binary) << text;
  config_.path = csv.string();
  LoadInfo info;
  const Dataset first = load(&info);
  EXPECT_FALSE(info.from_cache);
  EXPECT_EQ(first.pixels, folder.pixels);
  EXPECT_EQ(first.sample_ids[0], "fer2013.csv:2");
  const Dataset second = load(&info);
  EXPECT_TRUE(info.from_cache);
  expectSameDataset(second, first);
}

TEST_F(LoadDataset, WorksWithoutAUsableCacheFolder) {
  buildOfficialLayout(dataRoot());
  LoadInfo info;
  config_.cache_dir = "";
  EXPECT_EQ(load(&info).size(), 49u);
  EXPECT_FALSE(info.from_cache);
  EXPECT_TRUE(info.cache_path.empty());

  // A file where the cache folder should be: the data still loads, uncached.
  std::ofstream(cacheDir()) << "in the way\n";
  config_.cache_dir = cacheDir().string();
  EXPECT_EQ(load(&info).size(), 49u);
  load(&info);
  EXPECT_FALSE(info.from_cache);
  EXPECT_TRUE(fs::is_regular_file(cacheDir()));
}

TEST_F(LoadDataset, FormatErrorsNameThePath) {
  const fs::path missing = dir_.path() / "missing";
  config_.path = missing.string();
  EXPECT_NE(dataErrorOf([&] { load(); }).find(missing.string() + ": does not exist"),
            std::string::npos);

  const fs::path text = dir_.path() / "notes.txt";
  std::ofstream(text) << "hello\n";
  config_.path = text.string();
  EXPECT_EQ(dataErrorOf([&] { load(); }).rfind(text.string() + ": neither a folder", 0), 0u);

  buildOfficialLayout(dataRoot());
  config_.path = dataRoot().string();
  config_.format = config::DataFormat::Csv;
  EXPECT_EQ(dataErrorOf([&] { load(); }).rfind(dataRoot().string() + ": not a file", 0), 0u);
  // An unknown format ("tfrecord") no longer reaches the reader: it is a config error
  // (tests/config/ConfigSchemaTest.cpp).
  config_.format = config::DataFormat::Folder;
  EXPECT_EQ(load().size(), 49u);
}

}  // namespace
}  // namespace ferlab::data
