// End to end: the `ferlab` binary trains a one-epoch run with eye alignment on a miniature
// copy of FER2013 (real images), records the alignment counts, and `ferlab predict` then
// classifies the face in messi5.jpg as text, JSON and an annotated image; bad input fails
// with a clear message.

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "framework/tracking/SqliteStore.h"
#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using e2e::CommandResult;

/// stderr is dropped when `stdout_only` (for output that must parse as JSON).
CommandResult runFerlab(const std::string& arguments, bool stdout_only = false) {
  return e2e::runFerlab(arguments, !stdout_only);
}

const fs::path kFer2013 = fs::path(FERLAB_TEST_DATA) / "fer2013";
const std::string kMessi = std::string(FERLAB_TEST_DATA) + "/photos/messi5.jpg";
const char* const kClasses[] = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};

// The first `count` images of fer2013/<folder>/<name>/ starting with `prefix`, copied.
void copyImages(const std::string& folder, const std::string& name, const std::string& prefix,
                std::size_t count, const fs::path& to) {
  e2e::copyFirstFiles(kFer2013 / folder / name, to, prefix, static_cast<int>(count));
}

class PredictTest : public ::testing::Test {
 protected:
  // One tiny aligned run shared by every test: 20 / 5 / 5 images per class.
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("ferlab_predict_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    const fs::path data = root_ / "fer2013";
    for (const char* name : kClasses) {
      copyImages("train", name, "Training_", 20, data / "train" / name);
      copyImages("test", name, "PublicTest_", 5, data / "test" / name);
      copyImages("test", name, "PrivateTest_", 5, data / "test" / name);
    }
    const fs::path config = root_ / "tiny.toml";
    std::ofstream(config) << "name = \"predict-tiny\"\n[data]\npath = \"" << data.string()
                          << "\"\ncache_dir = \"" << (root_ / "cache").string()
                          << "\"\nalign = \"eyes\"\n[model]\nname = \"simple_cnn\"\n"
                          << "[train]\nepochs = 1\nseed = 1\n";
    train_ = runFerlab("run " + config.string() + storeArgs());
    const tracking::SqliteStore store(db());
    const auto runs = store.listRuns("predict-tiny");
    if (runs.size() == 1) {
      run_id_ = runs[0].record.id;
      alignment_ = runs[0].record.alignment;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  void SetUp() override {
    ASSERT_EQ(train_.exit_code, 0) << train_.output;
    ASSERT_FALSE(run_id_.empty());
  }

  static std::string db() { return (root_ / "ferlab.db").string(); }
  static std::string storeArgs() {
    return " --db " + db() + " --results " + (root_ / "results").string();
  }

  static fs::path root_;
  static CommandResult train_;
  static std::string run_id_;
  static tracking::AlignmentCounts alignment_;
};
fs::path PredictTest::root_;
CommandResult PredictTest::train_;
std::string PredictTest::run_id_;
tracking::AlignmentCounts PredictTest::alignment_;

TEST_F(PredictTest, RunRecordsItsAlignmentCounts) {
  EXPECT_EQ(alignment_.aligned + alignment_.face_only + alignment_.none, 7 * 30);
  EXPECT_GT(alignment_.aligned, 0);
  EXPECT_NE(train_.output.find("face alignment (eyes):"), std::string::npos) << train_.output;
}

TEST_F(PredictTest, ShowReportsTheAlignmentCounts) {
  const auto text = runFerlab("show " + run_id_ + " --db " + db());
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("face alignment: " + std::to_string(alignment_.aligned) + " aligned"),
            std::string::npos)
      << text.output;
  const auto shown = runFerlab("show " + run_id_ + " --json --db " + db(), true);
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  const json alignment = json::parse(shown.output).at("alignment");
  EXPECT_EQ(alignment.at("aligned").get<std::int64_t>(), alignment_.aligned);
  EXPECT_EQ(alignment.at("face_only").get<std::int64_t>(), alignment_.face_only);
  EXPECT_EQ(alignment.at("none").get<std::int64_t>(), alignment_.none);
}

TEST_F(PredictTest, PrintsOneFaceWithSevenProbabilities) {
  const auto result = runFerlab("predict --run " + run_id_ + " " + kMessi + storeArgs(), true);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("messi5.jpg: 1 face\n"), std::string::npos) << result.output;
  // "  face 1 at x=.. y=.. WxH (aligned): happy 41.2%" then "    angry 0.123 disgust 0.045
  // ...": seven probabilities summing to 1.
  const auto face = result.output.find("  face 1 at ");
  ASSERT_NE(face, std::string::npos) << result.output;
  std::istringstream line(result.output.substr(result.output.find('\n', face) + 1));
  double sum = 0.0;
  for (const char* name : kClasses) {
    std::string read_name;
    double probability = -1.0;
    line >> read_name >> probability;
    EXPECT_EQ(read_name, name) << result.output;
    EXPECT_GE(probability, 0.0);
    sum += probability;
  }
  EXPECT_NEAR(sum, 1.0, 0.01);
}

TEST_F(PredictTest, JsonParsesAndAnnotatedImageIsWritten) {
  const fs::path annotated = root_ / "messi_annotated.jpg";
  const auto result = runFerlab("predict --run " + run_id_.substr(0, 6) + " " + kMessi +
                                    " --json --annotate " + annotated.string() + storeArgs(),
                                true);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const json document = json::parse(result.output);
  EXPECT_EQ(document["run"], run_id_);
  ASSERT_EQ(document["images"].size(), 1u);
  const auto& faces = document["images"][0]["faces"];
  ASSERT_EQ(faces.size(), 1u);
  double sum = 0.0;
  for (const auto& [name, p] : faces[0]["probabilities"].items()) sum += p.get<double>();
  EXPECT_EQ(faces[0]["probabilities"].size(), 7u);
  EXPECT_NEAR(sum, 1.0, 1e-4);
  EXPECT_GT(faces[0]["box"]["width"].get<int>(), 0);

  const cv::Mat image = cv::imread(annotated.string());
  ASSERT_FALSE(image.empty()) << annotated;
  const cv::Mat original = cv::imread(kMessi);
  EXPECT_EQ(image.size(), original.size());
}

TEST_F(PredictTest, ImageWithoutAFaceIsReportedNotAnError) {
  const fs::path blank = root_ / "blank.png";
  cv::imwrite(blank.string(), cv::Mat(120, 160, CV_8UC3, cv::Scalar(90, 90, 90)));
  const auto result = runFerlab("predict --run " + run_id_ + " " + blank.string() + storeArgs());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("blank.png: no face found"), std::string::npos) << result.output;
}

TEST_F(PredictTest, UnknownRunAndMissingImageFailClearly) {
  const auto unknown = runFerlab("predict --run ffffffffffff " + kMessi + storeArgs());
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("ffffffffffff"), std::string::npos) << unknown.output;

  const std::string missing = (root_ / "nope.jpg").string();
  const auto no_image = runFerlab("predict --run " + run_id_ + " " + missing + storeArgs());
  EXPECT_NE(no_image.exit_code, 0);
  EXPECT_NE(no_image.output.find(missing), std::string::npos) << no_image.output;

  EXPECT_EQ(runFerlab("predict " + kMessi + storeArgs()).exit_code, 2);  // no --run
}

}  // namespace
}  // namespace ferlab
