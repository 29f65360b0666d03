// End to end: the `ferlab` binary trains a one-epoch run with eye alignment on a miniature
// copy of FER2013 (real images), then `ferlab evaluate` scores its selected checkpoint on
// another dataset: real FER2013 crops in folders named as CK+ names them (anger, sadness,
// happy, and a contempt folder to drop) plus a colour photograph of another size. Checked:
// the class map, both accuracies against the per-sample predictions, preparation and
// normalisation identical to training (the run's own stored test probabilities come out again),
// the store's record and idempotent re-evaluation, `show`, the report, and the errors.

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sqlite3.h>

#include "framework/data/FaceAligner.h"
#include "framework/data/ImagePreparer.h"
#include "framework/tracking/SqliteStore.h"
#include "framework/train/TrainedModel.h"
#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using e2e::CommandResult;

const fs::path kFer2013 = fs::path(FERLAB_TEST_DATA) / "fer2013";
const std::string kMessi = std::string(FERLAB_TEST_DATA) + "/photos/messi5.jpg";
const char* const kClasses[] = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};
const std::string kMaps = " --map anger=angry --map sadness=sad --map contempt=";

/// stderr is dropped when `stdout_only` (for output that must parse as JSON).
CommandResult runFerlab(const std::string& arguments, bool stdout_only = false) {
  return e2e::runFerlab(arguments, !stdout_only);
}

void copyImages(const std::string& folder, const std::string& name, const std::string& prefix,
                int count, const fs::path& to) {
  e2e::copyFirstFiles(kFer2013 / folder / name, to, prefix, count);
}

std::int64_t argmax(const std::vector<float>& values, const std::vector<int>& among) {
  int best = among.front();
  for (const int c : among) {
    if (values[c] > values[best]) best = c;
  }
  return best;
}

class EvaluateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("ferlab_evaluate_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    const fs::path data = root_ / "fer2013";
    for (const char* name : kClasses) {
      copyImages("train", name, "Training_", 20, data / "train" / name);
      copyImages("test", name, "PublicTest_", 5, data / "test" / name);
      copyImages("test", name, "PrivateTest_", 5, data / "test" / name);
    }
    const fs::path config = root_ / "tiny.toml";
    std::ofstream(config) << "name = \"evaluate-tiny\"\n[data]\npath = \"" << data.string()
                          << "\"\ncache_dir = \"" << (root_ / "cache").string()
                          << "\"\nalign = \"eyes\"\n[model]\nname = \"simple_cnn\"\n"
                          << "[train]\nepochs = 1\nseed = 1\n";
    train_ = runFerlab("run " + config.string() + storeArgs());
    const tracking::SqliteStore store(db());
    const auto runs = store.listRuns("evaluate-tiny");
    if (runs.size() == 1) run_id_ = runs[0].record.id;

    // The lab-style dataset: the first 10 PrivateTest crops of three classes, in folders
    // named as CK+ names them, 3 neutral faces as "contempt", and a colour photograph.
    const fs::path lab = labPath();
    copyImages("test", "angry", "PrivateTest_", 10, lab / "anger");
    copyImages("test", "sad", "PrivateTest_", 10, lab / "sadness");
    copyImages("test", "happy", "PrivateTest_", 10, lab / "happy");
    copyImages("test", "neutral", "PrivateTest_", 3, lab / "contempt");
    fs::copy_file(kMessi, lab / "happy" / "zz_messi5.jpg");
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
  static fs::path labPath() { return root_ / "ckplus"; }
  static std::string evaluateArgs(const std::string& data, const std::string& extra) {
    return "evaluate --run " + run_id_ + " --data " + data + extra + storeArgs();
  }
  /// `ferlab evaluate ... --json` on the lab dataset, parsed.
  static json evaluateLab() {
    const auto result = runFerlab(evaluateArgs(labPath().string(), kMaps + " --json"), true);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return result.exit_code == 0 ? json::parse(result.output) : json::object();
  }
  static std::size_t evaluationsWithMap(const std::string& class_map) {
    const tracking::SqliteStore store(db(), tracking::OpenMode::ReadOnly);
    std::size_t count = 0;
    for (const auto& e : store.evaluations(run_id_)) count += e.class_map == class_map;
    return count;
  }

  static fs::path root_;
  static CommandResult train_;
  static std::string run_id_;
};
fs::path EvaluateTest::root_;
CommandResult EvaluateTest::train_;
std::string EvaluateTest::run_id_;

TEST_F(EvaluateTest, MapsClassesAndScoresBothAccuraciesFromTheSamplePredictions) {
  const json out = evaluateLab();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out["run"], run_id_);
  EXPECT_EQ(out["dataset"], "ckplus");
  EXPECT_EQ(out["format"], "folder");
  EXPECT_EQ(out["images"], 31);
  EXPECT_EQ(out["dropped_images"], 3);
  EXPECT_EQ(out["classes"], json({"angry", "happy", "sad"}));
  EXPECT_EQ(
      out["class_map"],
      json({{"anger", "angry"}, {"contempt", nullptr}, {"happy", "happy"}, {"sadness", "sad"}}));
  EXPECT_EQ(out["content_hash"].get<std::string>().size(), 16u);
  ASSERT_FALSE(out["alignment"].is_null());  // the run aligns eyes, so the dataset was aligned

  const std::vector<std::string> names(std::begin(kClasses), std::end(kClasses));
  const auto index = [&](const std::string& name) {
    return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  const std::vector<int> all = {0, 1, 2, 3, 4, 5, 6}, kept = {0, 3, 4};
  int correct = 0, restricted_correct = 0;
  std::map<std::string, std::int64_t> confusion;  // "true>predicted"
  ASSERT_EQ(out["predictions"].size(), 31u);
  for (const json& sample : out["predictions"]) {
    std::vector<float> p;
    for (const auto& name : names) p.push_back(sample["probabilities"][name].get<float>());
    EXPECT_EQ(index(sample["predicted"].get<std::string>()), argmax(p, all)) << sample.dump();
    EXPECT_EQ(index(sample["restricted"].get<std::string>()), argmax(p, kept)) << sample.dump();
    correct += sample["predicted"] == sample["label"];
    restricted_correct += sample["restricted"] == sample["label"];
    ++confusion[sample["label"].get<std::string>() + ">" + sample["predicted"].get<std::string>()];
  }
  EXPECT_DOUBLE_EQ(out["accuracy"].get<double>(), correct / 31.0);
  EXPECT_DOUBLE_EQ(out["restricted_accuracy"].get<double>(), restricted_correct / 31.0);
  EXPECT_GE(restricted_correct, correct);
  // Confusion rows: the dataset's classes; columns: all seven.
  EXPECT_EQ(out["confusion"]["rows"], json({"angry", "happy", "sad"}));
  ASSERT_EQ(out["confusion"]["counts"].size(), 3u);
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t c = 0; c < 7; ++c) {
      const std::string key = out["confusion"]["rows"][r].get<std::string>() + ">" + names[c];
      EXPECT_EQ(out["confusion"]["counts"][r][c].get<std::int64_t>(), confusion[key]) << key;
    }
  }
  EXPECT_EQ(out["per_class"].size(), 3u);
}

// The run's FER2013 test images, read as another dataset (the FER2013 layout: test/ only),
// come out with the probabilities the run recorded for them: alignment, resizing and
// normalisation are exactly training's.
TEST_F(EvaluateTest, Fer2013TestImagesGetTheRunsOwnRecordedProbabilities) {
  const fs::path copy = root_ / "fer2013-copy";
  fs::copy(root_ / "fer2013", copy, fs::copy_options::recursive);
  const auto result = runFerlab(evaluateArgs(copy.string(), " --format fer2013 --json"), true);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const json out = json::parse(result.output);
  EXPECT_EQ(out["format"], "fer2013");
  ASSERT_EQ(out["images"], 7 * 10);  // PublicTest and PrivateTest, not train/

  const tracking::SqliteStore store(db(), tracking::OpenMode::ReadOnly);
  std::map<std::string, std::vector<float>> recorded;
  for (const auto& p : store.predictions(run_id_, "PrivateTest"))
    recorded[p.sample_id] = p.probabilities;
  ASSERT_EQ(recorded.size(), 35u);
  int compared = 0;
  for (const json& sample : out["predictions"]) {
    const auto found = recorded.find(sample["sample"].get<std::string>());
    if (found == recorded.end()) continue;  // a PublicTest image
    for (std::size_t c = 0; c < 7; ++c) {
      EXPECT_NEAR(sample["probabilities"][kClasses[c]].get<float>(), found->second[c], 1e-5)
          << found->first;
    }
    ++compared;
  }
  EXPECT_EQ(compared, 35);
}

// The colour photograph of another size is prepared as training data is (grey, aligned and
// resized by the run's FaceAligner settings) and normalised with the run's statistics.
TEST_F(EvaluateTest, AColourPhotoIsPreparedGreyResizedAndNormalisedLikeTrainingData) {
  const json out = evaluateLab();
  ASSERT_FALSE(out.empty());
  const auto sample =
      std::find_if(out["predictions"].begin(), out["predictions"].end(),
                   [](const json& s) { return s["sample"] == "happy/zz_messi5.jpg"; });
  ASSERT_NE(sample, out["predictions"].end());

  const tracking::SqliteStore store(db(), tracking::OpenMode::ReadOnly);
  const train::TrainedModel model(store.getRun(run_id_), (root_ / "results").string(), "");
  const config::DataConfig& data = model.config().data;
  const cv::Mat grey = cv::imread(kMessi, cv::IMREAD_GRAYSCALE);
  const data::AlignResult aligned = data::FaceAligner().align(grey, data::alignOptionsFrom(data));
  const data::PreparedImage prepared = data::ImagePreparer(data).prepare(grey);
  ASSERT_EQ(prepared.pixels.size(), cv::Size(data.image_size, data.image_size));
  EXPECT_EQ(cv::norm(prepared.pixels, aligned.aligned, cv::NORM_INF), 0.0);

  // Normalisation: (x / 255 - mean) / std with the statistics the run wrote.
  json stats;
  std::ifstream(root_ / "results" / "runs" / run_id_ / "normalization.json") >> stats;
  const auto pixels = torch::from_blob(prepared.pixels.data, {1, 1, 48, 48}, torch::kUInt8).clone();
  const auto expected =
      (pixels.to(torch::kFloat32) / 255.0 - stats["mean"].get<float>()) / stats["std"].get<float>();
  EXPECT_TRUE(torch::allclose(model.normalize(pixels), expected));

  const torch::Tensor probabilities = model.classify(prepared.pixels.data, 1);
  for (int c = 0; c < 7; ++c) {
    EXPECT_NEAR((*sample)["probabilities"][kClasses[c]].get<float>(),
                probabilities[0][c].item<float>(), 1e-5);
  }
}

TEST_F(EvaluateTest, ReEvaluatingReplacesAndAnotherMapAdds) {
  const std::string map = R"({"anger":"angry","contempt":null,"happy":"happy","sadness":"sad"})";
  const auto first = runFerlab(evaluateArgs(labPath().string(), kMaps));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto again = runFerlab(evaluateArgs(labPath().string(), kMaps));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("replacing the earlier evaluation"), std::string::npos)
      << again.output;
  EXPECT_NE(again.output.find("restricted accuracy"), std::string::npos) << again.output;
  EXPECT_EQ(evaluationsWithMap(map), 1u);

  // The same rules from a --class-map file are the same map: still one.
  const fs::path file = root_ / "ckplus.map";
  std::ofstream(file) << "# CK+ folders\nanger = angry\nsadness = sad  # FER2013 says sad\n"
                      << "contempt =\n";
  const auto from_file =
      runFerlab(evaluateArgs(labPath().string(), " --class-map " + file.string()));
  ASSERT_EQ(from_file.exit_code, 0) << from_file.output;
  EXPECT_EQ(evaluationsWithMap(map), 1u);

  const std::string other =
      R"({"anger":"angry","contempt":"neutral","happy":"happy","sadness":"sad"})";
  const auto mapped = runFerlab(evaluateArgs(
      labPath().string(), " --class-map " + file.string() + " --map contempt=neutral"));
  ASSERT_EQ(mapped.exit_code, 0) << mapped.output;
  EXPECT_EQ(evaluationsWithMap(other), 1u);
  EXPECT_EQ(evaluationsWithMap(map), 1u);
}

TEST_F(EvaluateTest, ShowAndReportListTheCrossDatasetEvaluations) {
  ASSERT_FALSE(evaluateLab().empty());
  const auto text = runFerlab("show " + run_id_ + " --db " + db());
  ASSERT_EQ(text.exit_code, 0) << text.output;
  const auto section = text.output.find("Cross-dataset");
  ASSERT_NE(section, std::string::npos) << text.output;
  const std::string rest = text.output.substr(section);
  for (const char* expected : {"DATASET", "RESTRICTED", "MACRO_F1", "ckplus", "angry,happy,sad",
                               "confusion matrix", "contempt -> (dropped)"}) {
    EXPECT_NE(rest.find(expected), std::string::npos) << expected << "\n" << rest;
  }
  const auto shown = runFerlab("show " + run_id_ + " --json --db " + db(), true);
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  const json evaluations = json::parse(shown.output).at("evaluations");
  ASSERT_FALSE(evaluations.empty());
  EXPECT_TRUE(std::any_of(evaluations.begin(), evaluations.end(),
                          [](const json& e) { return e["dataset"] == "ckplus"; }));

  const std::string report = (root_ / "report.html").string();
  const auto reported = runFerlab("report -o " + report + " --db " + db());
  ASSERT_EQ(reported.exit_code, 0) << reported.output;
  std::stringstream html;
  html << std::ifstream(report).rdbuf();
  EXPECT_NE(html.str().find("9 Cross-dataset"), std::string::npos);
  EXPECT_NE(html.str().find("chart-cross-0"), std::string::npos);
  EXPECT_NE(html.str().find("11 Provenance"), std::string::npos);
}

// An ensemble (schema v7: runs.kind = 'ensemble' and its members with weights) averages its
// members' probabilities with normalised weights; one member of weight 2 gives that member's
// probabilities, recorded under the ensemble's id.
TEST_F(EvaluateTest, EnsembleAveragesItsMembersWithTheirWeights) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(EvaluateTest::db().c_str(), &db), SQLITE_OK);
  const std::string sql =
      "INSERT OR IGNORE INTO runs (id, experiment, name, kind) VALUES ('e0e0e0e0e0e0', "
      "'evaluate-tiny', 'tiny-ensemble', 'ensemble'); INSERT OR IGNORE INTO ensemble_members "
      "VALUES ('e0e0e0e0e0e0', '" +
      run_id_ + "', 2.0);";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  const json single = evaluateLab();
  const auto result = runFerlab("evaluate --ensemble tiny-ensemble --data " + labPath().string() +
                                    kMaps + " --json" + storeArgs(),
                                true);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const json ensemble = json::parse(result.output);
  EXPECT_EQ(ensemble["run"], "e0e0e0e0e0e0");
  EXPECT_EQ(ensemble["content_hash"], single["content_hash"]);
  ASSERT_EQ(ensemble["predictions"].size(), single["predictions"].size());
  for (std::size_t i = 0; i < single["predictions"].size(); ++i) {
    for (const char* name : kClasses) {
      EXPECT_NEAR(ensemble["predictions"][i]["probabilities"][name].get<float>(),
                  single["predictions"][i]["probabilities"][name].get<float>(), 1e-6);
    }
  }
  EXPECT_DOUBLE_EQ(ensemble["accuracy"].get<double>(), single["accuracy"].get<double>());
  const tracking::SqliteStore store(EvaluateTest::db(), tracking::OpenMode::ReadOnly);
  EXPECT_EQ(store.evaluations("e0e0e0e0e0e0").size(), 1u);
}

TEST_F(EvaluateTest, ErrorsNameWhatIsWrong) {
  // An unknown folder without a rule: named, with the model's classes.
  const auto unknown =
      runFerlab(evaluateArgs(labPath().string(), " --map anger=angry --map sadness=sad"));
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("'contempt'"), std::string::npos) << unknown.output;
  EXPECT_NE(unknown.output.find("angry, disgust, fear, happy, sad, surprise, neutral"),
            std::string::npos)
      << unknown.output;
  // A value that is no model class.
  const auto furious = runFerlab(evaluateArgs(labPath().string(), kMaps + " --map anger=furious"));
  EXPECT_EQ(furious.exit_code, 2) << furious.output;
  EXPECT_NE(furious.output.find("'furious'"), std::string::npos) << furious.output;
  // The run's own training data is not another dataset.
  const auto own = runFerlab(evaluateArgs((root_ / "fer2013").string(), ""));
  EXPECT_EQ(own.exit_code, 1) << own.output;
  EXPECT_NE(own.output.find("own training data"), std::string::npos) << own.output;
  // An unreadable image is named.
  const fs::path broken_root = root_ / "broken";
  fs::create_directories(broken_root / "happy");
  std::ofstream(broken_root / "happy" / "bad.jpg") << "not a jpeg";
  const auto broken = runFerlab(evaluateArgs(broken_root.string(), ""));
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_NE(broken.output.find((broken_root / "happy" / "bad.jpg").string()), std::string::npos)
      << broken.output;
  // Usage.
  EXPECT_EQ(runFerlab("evaluate --run " + run_id_ + storeArgs()).exit_code, 2);  // no --data
  EXPECT_EQ(runFerlab(evaluateArgs(labPath().string(), kMaps + " --format tsv")).exit_code, 2);
}

}  // namespace
}  // namespace ferlab
