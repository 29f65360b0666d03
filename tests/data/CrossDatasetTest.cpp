// Reading another dataset for `ferlab evaluate`, on real images: FER2013 crops in folders
// named as lab-posed datasets name them (anger, sadness, happy, contempt) and a colour
// photograph of another size. The class map, the content hash, the three layouts, and the
// preparation: a FER2013 crop comes out exactly as the training pipeline (loadDataset, with
// and without eye alignment) prepares it, and a colour photo comes out grey and resized.

#include "framework/data/CrossDataset.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "framework/core/Errors.h"
#include "framework/data/DatasetCache.h"
#include "framework/data/FaceAligner.h"
#include "framework/data/ImagePreparer.h"
#include "Fixtures.h"

namespace ferlab::data {
namespace {

using namespace ferlab::data::testing;

const std::string kMessi = std::string(FERLAB_TEST_DATA) + "/photos/messi5.jpg";

std::vector<ClassMapRule> ckRules(bool drop_contempt = true) {
  std::vector<ClassMapRule> rules = {parseClassMapRule("anger=angry", "--map"),
                                     parseClassMapRule("sadness=sad", "--map")};
  if (drop_contempt) rules.push_back(parseClassMapRule("contempt=", "--map"));
  return rules;
}

config::DataConfig plainPreparation() {
  config::DataConfig data;
  data.cache_dir.clear();
  return data;
}

// A lab-style dataset of real FER2013 PrivateTest crops: 10 anger, 10 sadness, 10 happy, 3
// contempt (neutral faces), and messi5.jpg (548 x 342, colour) among the happy ones.
void buildLabDataset(const fs::path& root) {
  copyInto(realImages("test", "angry", "PrivateTest_", 10), root / "anger");
  copyInto(realImages("test", "sad", "PrivateTest_", 10), root / "sadness");
  copyInto(realImages("test", "happy", "PrivateTest_", 10), root / "happy");
  copyInto(realImages("test", "neutral", "PrivateTest_", 3), root / "contempt");
  fs::copy_file(kMessi, root / "happy" / "zz_messi5.jpg");
}

CrossDataset readLab(const fs::path& root, const config::DataConfig& preparation,
                     std::vector<ClassMapRule> rules = ckRules()) {
  CrossDatasetOptions options;
  options.path = root.string();
  options.rules = std::move(rules);
  return readCrossDataset(options, fer2013ClassNames(), preparation);
}

const std::uint8_t* pixelsOf(const Dataset& dataset, const std::string& id) {
  const auto found = std::find(dataset.sample_ids.begin(), dataset.sample_ids.end(), id);
  EXPECT_NE(found, dataset.sample_ids.end()) << id;
  if (found == dataset.sample_ids.end()) return nullptr;
  const auto index = static_cast<std::size_t>(found - dataset.sample_ids.begin());
  return dataset.pixels.data() + index * dataset.image_size * dataset.image_size;
}

cv::Mat matOf(const Dataset& dataset, const std::string& id) {
  const std::uint8_t* pixels = pixelsOf(dataset, id);
  if (pixels == nullptr) return {};
  return cv::Mat(dataset.image_size, dataset.image_size, CV_8UC1, const_cast<std::uint8_t*>(pixels))
      .clone();
}

TEST(CrossDataset, MapsRenamesDropsAndListsSamplesInPathOrder) {
  const TempDir dir;
  const fs::path root = dir.path() / "ckplus";
  buildLabDataset(root);
  const CrossDataset dataset = readLab(root, plainPreparation());
  EXPECT_EQ(dataset.name, "ckplus");
  EXPECT_EQ(dataset.format, CrossDatasetFormat::Folder);
  EXPECT_EQ(dataset.mapping.canonicalJson(),
            R"({"anger":"angry","contempt":null,"happy":"happy","sadness":"sad"})");
  EXPECT_EQ(dataset.mapping.keptModelClasses(), (std::vector<int>{0, 3, 4}));
  EXPECT_EQ(dataset.dropped_images, 3);
  ASSERT_EQ(dataset.images.size(), 31u);
  EXPECT_EQ(dataset.images.image_size, 48);
  EXPECT_EQ(dataset.images.class_names, fer2013ClassNames());
  EXPECT_TRUE(std::is_sorted(dataset.images.sample_ids.begin(), dataset.images.sample_ids.end()));
  std::map<std::int64_t, int> per_label;
  for (std::size_t i = 0; i < dataset.images.size(); ++i) {
    ++per_label[dataset.images.labels[i]];
    const std::string& id = dataset.images.sample_ids[i];
    const std::int64_t expected = id.rfind("anger/", 0) == 0   ? 0
                                  : id.rfind("happy/", 0) == 0 ? 3
                                                               : 4;
    EXPECT_EQ(dataset.images.labels[i], expected) << id;
  }
  EXPECT_EQ(per_label, (std::map<std::int64_t, int>{{0, 10}, {3, 11}, {4, 10}}));
  EXPECT_FALSE(dataset.images.alignment.known());  // data.align = "none"
}

TEST(CrossDataset, AnUnmappedUnknownFolderIsAnErrorNamingIt) {
  const TempDir dir;
  buildLabDataset(dir.path() / "ckplus");
  const std::string message =
      dataErrorOf([&] { readLab(dir.path() / "ckplus", plainPreparation(), ckRules(false)); });
  EXPECT_NE(message.find("ckplus"), std::string::npos) << message;
  EXPECT_NE(message.find("'contempt'"), std::string::npos) << message;
  EXPECT_NE(message.find("angry, disgust, fear, happy, sad, surprise, neutral"), std::string::npos)
      << message;
}

TEST(CrossDataset, ContentHashFollowsTheFilesNotTheMapOrTheLocation) {
  const TempDir dir;
  const fs::path root = dir.path() / "ckplus";
  buildLabDataset(root);
  const std::string hash = readLab(root, plainPreparation()).content_hash;
  EXPECT_EQ(hash.size(), 16u);
  // Another class map and another location of the same files: the same content.
  std::vector<ClassMapRule> other = ckRules(false);
  other.push_back(parseClassMapRule("contempt=neutral", "--map"));
  EXPECT_EQ(readLab(root, plainPreparation(), other).content_hash, hash);
  fs::copy(root, dir.path() / "moved", fs::copy_options::recursive);
  EXPECT_EQ(readLab(dir.path() / "moved", plainPreparation()).content_hash, hash);
  // One byte of one dropped image changes it, and so does a renamed file.
  const fs::path contempt = *fs::directory_iterator(dir.path() / "moved" / "contempt");
  fs::permissions(contempt, fs::perms::owner_write, fs::perm_options::add);  // copied read-only
  {
    std::fstream file(contempt, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.is_open()) << contempt;
    file.seekg(100);
    const char byte = static_cast<char>(file.get());
    file.seekp(100);
    file.put(static_cast<char>(~byte));
  }
  EXPECT_NE(readLab(dir.path() / "moved", plainPreparation()).content_hash, hash);
  fs::rename(root / "happy" / "zz_messi5.jpg", root / "happy" / "zz_messi.jpg");
  EXPECT_NE(readLab(root, plainPreparation()).content_hash, hash);
}

// A colour photograph of another size comes out as training images are: grey (OpenCV's
// decoder conversion), image_size x image_size by area averaging without alignment, and by
// the run's FaceAligner settings with alignment.
TEST(CrossDataset, AColourPhotoOfAnotherSizeIsPreparedLikeTrainingData) {
  const cv::Mat colour = cv::imread(kMessi, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(colour.channels(), 3);
  ASSERT_NE(colour.size(), cv::Size(48, 48));
  const TempDir dir;
  const fs::path root = dir.path() / "ckplus";
  buildLabDataset(root);
  const cv::Mat grey = cv::imread(kMessi, cv::IMREAD_GRAYSCALE);

  const CrossDataset plain = readLab(root, plainPreparation());
  cv::Mat expected;
  cv::resize(grey, expected, cv::Size(48, 48), 0, 0, cv::INTER_AREA);
  const cv::Mat prepared = matOf(plain.images, "happy/zz_messi5.jpg");
  ASSERT_EQ(prepared.size(), cv::Size(48, 48));
  EXPECT_EQ(cv::norm(prepared, expected, cv::NORM_INF), 0.0);

  config::DataConfig aligned = plainPreparation();
  aligned.align = config::Align::Eyes;
  aligned.image_size = 64;  // the run's size, whatever the source's
  const CrossDataset eyes = readLab(root, aligned);
  EXPECT_EQ(eyes.images.image_size, 64);
  const AlignResult reference = FaceAligner().align(grey, alignOptionsFrom(aligned));
  EXPECT_EQ(reference.outcome, AlignOutcome::Aligned);  // Messi's eyes are found
  EXPECT_EQ(cv::norm(matOf(eyes.images, "happy/zz_messi5.jpg"), reference.aligned, cv::NORM_INF),
            0.0);
  const AlignmentCounts& counts = eyes.images.alignment;
  EXPECT_EQ(counts.aligned + counts.face_only + counts.none, 31);
  EXPECT_GT(counts.aligned, 0);
}

// The FER2013 layout (--format fer2013, test/ only) gives every test image exactly the
// pixels the training pipeline gives it, with and without eye alignment.
TEST(CrossDataset, Fer2013TestImagesComeOutExactlyAsTrainingPreparesThem) {
  const TempDir dir;
  const fs::path root = dir.path() / "fer2013";
  buildOfficialLayout(root);
  for (const config::Align align : {config::Align::None, config::Align::Eyes}) {
    config::DataConfig data = plainPreparation();
    data.path = root.string();
    data.align = align;
    const Dataset training = loadDataset(data);
    CrossDatasetOptions options;
    options.path = root.string();  // auto: train/ and test/ make it the FER2013 layout
    const CrossDataset dataset = readCrossDataset(options, fer2013ClassNames(), data);
    EXPECT_EQ(dataset.format, CrossDatasetFormat::Fer2013);
    EXPECT_EQ(dataset.name, "fer2013");
    ASSERT_EQ(dataset.images.size(), 7u * 4u);  // PublicTest and PrivateTest, no Training
    for (std::size_t i = 0; i < dataset.images.size(); ++i) {
      const std::string& id = dataset.images.sample_ids[i];
      ASSERT_EQ(id.rfind("test/", 0), 0u) << id;
      const std::uint8_t* expected = pixelsOf(training, id);
      ASSERT_NE(expected, nullptr);
      EXPECT_TRUE(std::equal(expected, expected + 48 * 48,
                             dataset.images.pixels.begin() + static_cast<long>(i) * 48 * 48))
          << id << " align=" << config::choiceName(align);
      const auto at = std::find(training.sample_ids.begin(), training.sample_ids.end(), id);
      EXPECT_EQ(dataset.images.labels[i], training.labels[at - training.sample_ids.begin()]);
    }
  }
}

TEST(CrossDataset, ChallengeCsvGivesItsHeldOutRowsWithLineIds) {
  const TempDir dir;
  const fs::path csv = dir.path() / "faces.csv";
  std::ofstream out(csv);
  out << "emotion,pixels,Usage\n";
  const auto row = [&](int label, const fs::path& image, const char* usage) {
    const cv::Mat grey = cv::imread(image.string(), cv::IMREAD_GRAYSCALE);
    std::string pixels;
    for (int i = 0; i < 48 * 48; ++i) pixels += (i ? " " : "") + std::to_string(grey.data[i]);
    out << label << "," << pixels << "," << usage << "\n";
  };
  const auto happy = realImages("test", "happy", "PrivateTest_", 2);
  const auto disgust = realImages("test", "disgust", "PublicTest_", 1);
  row(3, realImages("train", "happy", "Training_", 1)[0], "Training");  // line 2: not read
  row(3, happy[0], "PrivateTest");                                      // line 3
  row(1, disgust[0], "PublicTest");                                     // line 4: dropped
  row(3, happy[1], "PublicTest");                                       // line 5
  out.close();
  CrossDatasetOptions options;
  options.path = csv.string();
  options.rules = {parseClassMapRule("disgust=", "--map")};
  const CrossDataset dataset = readCrossDataset(options, fer2013ClassNames(), plainPreparation());
  EXPECT_EQ(dataset.format, CrossDatasetFormat::Csv);
  EXPECT_EQ(dataset.name, "faces");
  EXPECT_EQ(dataset.dropped_images, 1);
  EXPECT_EQ(dataset.images.sample_ids, (std::vector<std::string>{"faces.csv:3", "faces.csv:5"}));
  EXPECT_EQ(dataset.images.labels, (std::vector<std::int64_t>{3, 3}));
  const cv::Mat first = cv::imread(happy[0].string(), cv::IMREAD_GRAYSCALE);
  EXPECT_EQ(cv::norm(matOf(dataset.images, "faces.csv:3"), first, cv::NORM_INF), 0.0);
}

TEST(CrossDataset, UnreadableImageAndEmptySelectionAreClearErrors) {
  const TempDir dir;
  const fs::path root = dir.path() / "ckplus";
  buildLabDataset(root);
  const fs::path broken = root / "happy" / "broken.png";
  std::ofstream(broken) << "not an image";
  const std::string message = dataErrorOf([&] { readLab(root, plainPreparation()); });
  EXPECT_NE(message.find(broken.string()), std::string::npos) << message;
  EXPECT_NE(message.find("cannot decode image"), std::string::npos) << message;
  fs::remove(broken);

  std::vector<ClassMapRule> drop_all;
  for (const char* name : {"anger", "sadness", "happy", "contempt"})
    drop_all.push_back(parseClassMapRule(std::string(name) + "=", "--map"));
  EXPECT_NE(dataErrorOf([&] {
              readLab(root, plainPreparation(), drop_all);
            }).find("no image left to evaluate"),
            std::string::npos);
  EXPECT_NE(dataErrorOf([&] {
              readLab(dir.path() / "missing", plainPreparation());
            }).find("does not exist"),
            std::string::npos);
  CrossDatasetOptions wrong;
  wrong.path = root.string();
  wrong.format = CrossDatasetFormat::Fer2013;  // no test/ folder here
  EXPECT_NE(dataErrorOf([&] {
              readCrossDataset(wrong, fer2013ClassNames(), plainPreparation());
            }).find("no test/ folder"),
            std::string::npos);
  EXPECT_THROW(parseCrossDatasetFormat("tsv"), UsageError);
  EXPECT_EQ(parseCrossDatasetFormat("fer2013"), CrossDatasetFormat::Fer2013);
}

TEST(ImagePreparer, LeavesAnImageOfTheRunSizeUntouchedAndEnlargesBilinearly) {
  const ImagePreparer preparer(plainPreparation());
  const cv::Mat face =
      cv::imread(realImages("test", "fear", "PrivateTest_", 1)[0].string(), cv::IMREAD_GRAYSCALE);
  EXPECT_EQ(cv::norm(preparer.prepare(face).pixels, face, cv::NORM_INF), 0.0);
  cv::Mat small, expected;
  cv::resize(face, small, cv::Size(24, 24), 0, 0, cv::INTER_AREA);
  cv::resize(small, expected, cv::Size(48, 48), 0, 0, cv::INTER_LINEAR);
  EXPECT_EQ(cv::norm(preparer.prepare(small).pixels, expected, cv::NORM_INF), 0.0);
  EXPECT_THROW(preparer.prepare(cv::Mat()), DataError);
}

}  // namespace
}  // namespace ferlab::data
