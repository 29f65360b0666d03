#include "framework/train/Trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include <unistd.h>

#include "framework/models/ModelRegistry.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;

// A learnable synthetic problem: class c images are bright in horizontal band c.
data::Dataset bandDataset(int per_class) {
  data::Dataset dataset;
  dataset.image_size = 24;
  dataset.class_names = {"top", "middle", "bottom"};
  std::mt19937 generator(11);
  std::uniform_int_distribution<int> noise(0, 60);
  int index = 0;
  for (int split = 0; split < 3; ++split) {
    for (int i = 0; i < per_class * 3; ++i, ++index) {
      const int label = i % 3;
      for (int y = 0; y < 24; ++y) {
        for (int x = 0; x < 24; ++x) {
          const bool bright = y / 8 == label;
          dataset.pixels.push_back(
              static_cast<std::uint8_t>((bright ? 180 : 20) + noise(generator)));
        }
      }
      dataset.labels.push_back(label);
      dataset.splits.push_back(static_cast<data::Split>(split));
      dataset.sample_ids.push_back("synthetic_" + std::to_string(index));
    }
  }
  return dataset;
}

config::RunConfig smallRun(int epochs) {
  config::RunConfig config;
  config.model.name = "simple_cnn";
  config.model.num_classes = 3;
  config.train.epochs = epochs;
  config.train.batch_size = 16;
  config.train.seed = 5;
  config.augment.hflip = 0.5;
  config.augment.crop_padding = 1;
  return config;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ferlab_trainer_" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Trains `epochs` (resuming whatever `dir` holds) and returns the final parameters.
  std::vector<torch::Tensor> train(const std::string& dir, int epochs,
                                   int* resumed_from = nullptr) {
    const auto config = smallRun(epochs);
    torch::manual_seed(config.train.seed);
    auto model = models::makeModel(config.model, 24);
    Trainer trainer(config, model, data_, (root_ / dir).string());
    const int completed = trainer.resume();
    if (resumed_from != nullptr) *resumed_from = completed;
    trainer.fit([&](const tracking::EpochRecord& record, const tracking::RunSummary&) {
      epochs_.push_back(record);
    });
    summary_ = trainer.summary();
    std::vector<torch::Tensor> parameters;
    for (const auto& p : model->parameters()) parameters.push_back(p.detach().clone());
    return parameters;
  }

  fs::path root_;
  data::Dataset dataset_ = bandDataset(20);
  DeviceDataset data_{dataset_, torch::kCPU};
  std::vector<tracking::EpochRecord> epochs_;
  tracking::RunSummary summary_;
};

TEST_F(TrainerTest, LearnsASeparableProblemAndRecordsEveryEpoch) {
  train("learn", 4);
  ASSERT_EQ(epochs_.size(), 4u);
  EXPECT_EQ(epochs_.front().epoch, 1);
  EXPECT_GT(epochs_.back().val_accuracy, 0.9);
  EXPECT_LT(epochs_.back().train_loss, epochs_.front().train_loss);
  EXPECT_GE(summary_.best_epoch, 1);
  EXPECT_TRUE(fs::exists(root_ / "learn" / "best.pt"));
  EXPECT_TRUE(fs::exists(root_ / "learn" / "last.pt"));
}

TEST_F(TrainerTest, SameSeedIsBitIdenticalOnCpu) {
  const auto first = train("a", 2);
  const auto second = train("b", 2);
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(torch::equal(first[i], second[i]));
}

// An interrupted run resumed from last.pt ends exactly where the uninterrupted one does.
TEST_F(TrainerTest, ResumeFromLastCheckpointMatchesUninterruptedRun) {
  const auto straight = train("straight", 3);
  train("interrupted", 1);  // "crash" after epoch 1: last.pt holds epoch 1
  int resumed_from = -1;
  const auto resumed = train("interrupted", 3, &resumed_from);
  EXPECT_EQ(resumed_from, 1);
  ASSERT_EQ(straight.size(), resumed.size());
  for (std::size_t i = 0; i < straight.size(); ++i)
    EXPECT_TRUE(torch::equal(straight[i], resumed[i]));
}

TEST_F(TrainerTest, EvaluationReturnsConsistentPredictions) {
  const auto config = smallRun(1);
  torch::manual_seed(1);
  auto model = models::makeModel(config.model, 24);
  Trainer trainer(config, model, data_, (root_ / "eval").string());
  const auto result = trainer.evaluate(data::Split::Test);
  ASSERT_EQ(result.labels.size(), 60u);
  ASSERT_EQ(result.probabilities.size(), 60u * 3);
  for (std::size_t i = 0; i < result.labels.size(); ++i) {
    const float* row = &result.probabilities[i * 3];
    EXPECT_NEAR(row[0] + row[1] + row[2], 1.0f, 1e-5f);
    const auto argmax = std::max_element(row, row + 3) - row;
    EXPECT_EQ(argmax, result.predicted[i]);
  }
}

TEST_F(TrainerTest, EarlyStoppingEndsTheRun) {
  auto config = smallRun(30);
  config.train.early_stopping = 1;
  config.train.lr = 1e-9;  // nothing improves after epoch 1
  torch::manual_seed(1);
  auto model = models::makeModel(config.model, 24);
  Trainer trainer(config, model, data_, (root_ / "early").string());
  int epochs = 0;
  trainer.fit([&](const tracking::EpochRecord&, const tracking::RunSummary&) { ++epochs; });
  EXPECT_LT(epochs, 30);
}

}  // namespace
}  // namespace ferlab::train
