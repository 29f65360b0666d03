#include "framework/tracking/RunArchive.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "framework/core/Base64.h"
#include "framework/core/Errors.h"
#include "framework/core/Gzip.h"

namespace ferlab::tracking {
namespace {

namespace fs = std::filesystem;

class RunArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ferlab-archive-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

RunRecord makeRun(const std::string& id) {
  RunRecord run;
  run.id = id;
  run.experiment = "reproduce_custom_cnn";
  run.name = "reproduce_custom_cnn[seed=2]";
  run.grid_index = 1;
  // Key order and spacing of the store's text must survive, not just its JSON value.
  run.config_json = R"({"train": {"seed": 2}, "model":{"name":"simple_cnn"}})";
  run.config_hash = "bb0a652886354930";
  run.seed = 2;
  run.backbone = "simple_cnn";
  run.params = {{"model.name", "simple_cnn"}, {"train.seed", "2"}, {"train.lr", "0.001"}};
  run.grid_values = {{"train.seed", "2"}};
  run.git_commit = "0123456789abcdef0123456789abcdef01234567";
  run.ferlab_version = "0.9.0";
  run.torch_version = "2.11.0";
  run.opencv_version = "4.6.0";
  run.device = "cpu";
  run.dataset_key = "04a7cce6d42654e8";
  run.started_at = "2026-11-29T21:00:00Z";
  run.alignment = {35000, 500, 387};
  run.precision = "fp32";
  return run;
}

std::vector<Prediction> makePredictions(const std::string& split, int count) {
  std::vector<Prediction> predictions;
  for (int i = 0; i < count; ++i) {
    Prediction p;
    p.sample_index = 30000 + i;
    p.sample_id = split + "_" + std::to_string(i) + ".jpg";
    p.label = i % 7;
    p.predicted = (i * 5) % 7;
    for (int c = 0; c < 7; ++c) p.probabilities.push_back(1.0f / (3.0f + i + c));
    predictions.push_back(std::move(p));
  }
  return predictions;
}

SplitMetrics makeSplit(const std::string& name) {
  SplitMetrics split;
  split.split = name;
  split.loss = 1.0 / 3.0;  // not exact in decimal: must come back bit-identical
  split.accuracy = 0.6123456789012345;
  split.macro_f1 = 0.5;
  for (int c = 0; c < 7; ++c)
    split.classes.push_back({"c" + std::to_string(c), 0.1 * c, 0.2, 0.3, c});
  for (int i = 0; i < 49; ++i) split.confusion.push_back(i);
  return split;
}

/// A finished run with two epochs, a phase, both splits and their predictions.
void addFinishedRun(SqliteStore& store, const std::string& id) {
  const RunRecord run = makeRun(id);
  store.ensureExperiment(run.experiment, "experiments/reproduce/custom_cnn.toml", {"train.seed"});
  store.ensureRun(run);
  store.markRunning(run);
  RunSummary summary;
  for (int n = 1; n <= 2; ++n) {
    EpochRecord epoch;
    epoch.epoch = n;
    epoch.train_loss = 1.7 / n;
    epoch.train_accuracy = 0.3 + 0.1 / 3 * n;
    epoch.val_loss = 1.6 / n;
    epoch.val_accuracy = 0.4 + 0.1 / 7 * n;
    epoch.val_macro_f1 = 0.35;
    epoch.lr = 1e-3 / 3;
    epoch.images_per_sec = 213.123456789;
    epoch.seconds = 143.25;
    epoch.class_counts = {3995, 436, 4097, 7215, 4830, 3171, 4965};
    summary.best_epoch = summary.last_epoch = n;
    summary.best_val_accuracy = summary.last_val_accuracy = epoch.val_accuracy;
    store.recordEpoch(id, epoch, summary);
  }
  store.recordPhase(id, {0, "train", 1, 2, 2345607, 2345607});
  summary.test_accuracy = 0.6123456789012345;
  summary.test_macro_f1 = 0.5;
  summary.duration_s = 300.5;
  auto test = makePredictions("PrivateTest", 50);
  test[0].probabilities = {0.0f,
                           1.0f,
                           std::numeric_limits<float>::denorm_min(),
                           std::numeric_limits<float>::max(),
                           1e-30f,
                           0.1f,
                           0.2f};
  store.finishRun(id, summary, {makeSplit("PublicTest"), makeSplit("PrivateTest")},
                  {{"PublicTest", makePredictions("PublicTest", 40)}, {"PrivateTest", test}});
}

TEST_F(RunArchiveTest, ArchiveImportArchiveIsLossless) {
  SqliteStore source(path("source.db"));
  addFinishedRun(source, "a1b2c3d4e5f6");
  const RunArchive archive = archiveRun(source, "a1b2c3");  // a prefix selects too
  writeRunArchive(path("run.json.gz"), archive);

  // gzip on disk (RFC 1952 magic), so `gunzip -c` reads it.
  std::ifstream file(path("run.json.gz"), std::ios::binary);
  unsigned char magic[2] = {};
  file.read(reinterpret_cast<char*>(magic), 2);
  EXPECT_EQ(magic[0], 0x1f);
  EXPECT_EQ(magic[1], 0x8b);

  SqliteStore target(path("target.db"));
  EXPECT_EQ(target.importRun(readRunArchive(path("run.json.gz"))), ImportOutcome::Imported);
  const RunArchive again = archiveRun(target, "a1b2c3d4e5f6");
  EXPECT_EQ(runArchiveJson(again), runArchiveJson(archive));

  // Spot checks that the comparison above compared something.
  EXPECT_EQ(again.record.config_json, makeRun("x").config_json);
  EXPECT_EQ(again.record.started_at, "2026-11-29T21:00:00Z");
  EXPECT_EQ(again.record.ended_at, archive.record.ended_at);
  EXPECT_EQ(again.epochs.size(), 2u);
  EXPECT_EQ(again.epochs[1].class_counts[1], 436);
  ASSERT_EQ(again.predictions.size(), 2u);
  EXPECT_EQ(again.predictions[1].first, "PrivateTest");
  EXPECT_EQ(again.predictions[1].second.size(), 50u);
  EXPECT_EQ(again.predictions[1].second[0].probabilities[2],
            std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(again.splits[0].loss, 1.0 / 3.0);
  EXPECT_EQ(target.experimentInfo("reproduce_custom_cnn")->source,
            "experiments/reproduce/custom_cnn.toml");
  EXPECT_EQ(target.getRun("a1b2c3d4e5f6").record.grid_values.size(), 1u);
}

TEST_F(RunArchiveTest, ImportKeepsAFinishedRunAndReplacesAnUnfinishedOne) {
  SqliteStore source(path("source.db"));
  addFinishedRun(source, "a1b2c3d4e5f6");
  const RunArchive archive = archiveRun(source, "a1b2c3d4e5f6");

  SqliteStore target(path("target.db"));
  RunRecord partial = makeRun("a1b2c3d4e5f6");
  target.ensureRun(partial);
  target.markRunning(partial);  // an interrupted run of the same id
  EXPECT_EQ(target.importRun(archive), ImportOutcome::Replaced);
  EXPECT_EQ(target.getRun("a1b2c3d4e5f6").record.status, RunStatus::Finished);
  EXPECT_EQ(target.predictions("a1b2c3d4e5f6", "PrivateTest").size(), 50u);

  RunArchive changed = archive;
  changed.summary.test_accuracy = 0.99;
  EXPECT_EQ(target.importRun(changed), ImportOutcome::AlreadyPresent);
  EXPECT_EQ(target.getRun("a1b2c3d4e5f6").summary.test_accuracy, 0.6123456789012345);
  EXPECT_EQ(target.listRuns().size(), 1u);
}

TEST_F(RunArchiveTest, AnUnfinishedRunIsNotArchived) {
  SqliteStore store(path("source.db"));
  const RunRecord run = makeRun("a1b2c3d4e5f6");
  store.ensureRun(run);
  store.markRunning(run);
  try {
    archiveRun(store, run.id);
    FAIL() << "archived a running run";
  } catch (const StoreError& error) {
    EXPECT_NE(std::string(error.what()).find("not finished"), std::string::npos) << error.what();
  }
}

// Writes `json` gzip-compressed and returns the error readRunArchive throws for it.
std::string readError(const std::string& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
  try {
    readRunArchive(file);
  } catch (const DataError& error) {
    return error.what();
  }
  return "no error";
}

TEST_F(RunArchiveTest, BadArchivesNameTheFileAndTheKey) {
  SqliteStore source(path("source.db"));
  addFinishedRun(source, "a1b2c3d4e5f6");
  const std::string good = runArchiveJson(archiveRun(source, "a1b2c3d4e5f6"));
  const std::string file = path("bad.json.gz");

  EXPECT_EQ(readError(file, "plain text"),
            file + ": not a valid gzip stream (incorrect header check)");
  const std::string gz = core::gzipCompress(good);
  EXPECT_NE(readError(file, gz.substr(0, gz.size() / 2)).find("truncated"), std::string::npos);
  EXPECT_EQ(readError(file, core::gzipCompress("{not json")), file + ": not valid JSON");

  auto without = [&](const std::string& key) {
    std::string text = good;
    const auto at = text.find("\"" + key + "\"");
    text.replace(at, key.size() + 2, "\"renamed\"");
    return core::gzipCompress(text);
  };
  EXPECT_EQ(readError(file, without("config_hash")),
            file + ": run archive lacks key 'run.config_hash'");
  EXPECT_EQ(readError(file, without("probabilities_f32le_base64")),
            file + ": run archive lacks key 'predictions[0].probabilities_f32le_base64'");

  std::string wrong_type = good;
  wrong_type.replace(wrong_type.find("\"grid_index\": 1"), 15, "\"grid_index\": \"one\"");
  EXPECT_EQ(readError(file, core::gzipCompress(wrong_type)),
            file + ": run archive key 'run.grid_index' must be an integer");

  std::string newer = good;
  newer.replace(newer.find("\"version\": 1"), 12, "\"version\": 2");
  EXPECT_EQ(readError(file, core::gzipCompress(newer)),
            file + ": run archive version 2; this FERLab reads version 1");
}

TEST(Base64, Rfc4648TestVectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [bytes, text] : vectors) {
    EXPECT_EQ(core::base64Encode(bytes), text);
    EXPECT_EQ(core::base64Decode(text, "t"), bytes);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(core::base64Decode(core::base64Encode(all), "t"), all);
  EXPECT_THROW(core::base64Decode("Zm9", "t"), DataError);
  EXPECT_THROW(core::base64Decode("Zm*v", "t"), DataError);
}

}  // namespace
}  // namespace ferlab::tracking
