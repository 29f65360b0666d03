#include "framework/train/Trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>

#include <unistd.h>

#include <ATen/Parallel.h>

#include "framework/core/Errors.h"
#include "framework/data/SealedTestSplit.h"
#include "framework/models/ModelRegistry.h"
#include "framework/train/Phases.h"
#include "tests/train/BandDataset.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;

config::RunConfig smallRun(int epochs) {
  config::RunConfig config;
  config.model.name = config::ModelName::SimpleCnn;
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
  // One intra-op thread, as RandomKillTest and WorkersTest pin with --threads 1: these tests
  // compare parameters bit for bit. With the default two threads, ResumeFromLastCheckpoint...
  // failed once (2026-12-01, a fresh-clone CI beside a training job; 25 reruns passed). The
  // cause was not found; a likely one is a multi-threaded floating-point reduction whose order
  // varies, which one thread rules out.
  void SetUp() override {
    threads_before_ = at::get_num_threads();
    at::set_num_threads(1);
    root_ = fs::temp_directory_path() / ("ferlab_trainer_" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override {
    fs::remove_all(root_);
    at::set_num_threads(threads_before_);
  }

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

  int threads_before_ = 1;
  fs::path root_;
  data::Dataset dataset_ = bandDataset(20);
  DeviceDataset data_{data::sealTestSplit(dataset_).selection, torch::kCPU};
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
  const auto result = trainer.evaluate(data::Split::Val);
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

// Snapshot of every parameter and buffer whose name starts with `prefix`.
std::map<std::string, torch::Tensor> snapshot(const models::ClassifierPtr& model,
                                              const std::string& prefix) {
  std::map<std::string, torch::Tensor> values;
  for (const auto& item : model->named_parameters()) {
    if (item.key().rfind(prefix, 0) == 0) values[item.key()] = item.value().detach().clone();
  }
  for (const auto& item : model->named_buffers()) {
    if (item.key().rfind(prefix, 0) == 0) values[item.key()] = item.value().detach().clone();
  }
  return values;
}

bool unchanged(const models::ClassifierPtr& model,
               const std::map<std::string, torch::Tensor>& before) {
  const auto after = snapshot(model, "");
  for (const auto& [name, value] : before) {
    if (!torch::equal(after.at(name), value)) return false;
  }
  return true;
}

config::RunConfig twoPhaseRun() {
  auto config = smallRun(2);
  config.model.batch_norm = true;  // BatchNorm in the frozen part must keep its statistics
  config::PhaseConfig head, all;
  head.name = "head";
  head.trainable = {"head"};
  all.name = "all";
  all.trainable = {"all"};
  all.lr_mult = 0.1;
  config.train.phases = {head, all};
  return config;
}

// Phase 1 trains only the classifier: the features (weights and BatchNorm running
// statistics) stay bit-identical; phase 2 unfreezes them and they change.
TEST_F(TrainerTest, FreezingFreezesAndUnfreezingTrains) {
  const auto config = twoPhaseRun();
  torch::manual_seed(3);
  auto model = models::makeModel(config.model, 24);
  const auto features_before = snapshot(model, "features.");
  const auto classifier_before = snapshot(model, "classifier.");
  Trainer trainer(config, model, data_, (root_ / "phases").string());
  std::vector<tracking::PhaseRecord> phases;
  std::vector<std::string> epoch_phases;
  bool features_frozen_after_head_phase = false, classifier_trained = false;
  trainer.fit(
      [&](const tracking::EpochRecord& record, const tracking::RunSummary&) {
        epoch_phases.push_back(record.phase);
        if (record.epoch == 1) {
          features_frozen_after_head_phase = unchanged(model, features_before);
          classifier_trained = !unchanged(model, classifier_before);
        }
      },
      [&](const tracking::PhaseRecord& phase) { phases.push_back(phase); });
  EXPECT_TRUE(features_frozen_after_head_phase);
  EXPECT_TRUE(classifier_trained);
  EXPECT_FALSE(unchanged(model, features_before));  // phase 2 trained them
  EXPECT_EQ(epoch_phases, (std::vector<std::string>{"head", "all"}));

  ASSERT_EQ(phases.size(), 2u);
  EXPECT_EQ(phases[0].name, "head");
  EXPECT_EQ(phases[0].first_epoch, 1);
  EXPECT_EQ(phases[1].first_epoch, 2);
  std::int64_t classifier_params = 0;
  for (const auto& item : model->named_parameters()) {
    if (model->isHeadParameter(item.key())) classifier_params += item.value().numel();
  }
  EXPECT_EQ(phases[0].trainable_params, classifier_params);
  EXPECT_EQ(phases[0].total_params, models::parameterCount(*model));
  EXPECT_EQ(phases[1].trainable_params, phases[1].total_params);
}

// A run resumed at a phase boundary starts the new phase (fresh optimiser) and ends where the
// uninterrupted run ends; resumed inside a phase it restores that phase's optimiser.
TEST_F(TrainerTest, ResumeAcrossPhasesMatchesUninterruptedRun) {
  auto config = twoPhaseRun();
  config.train.phases[1].epochs = 2;
  config.train.epochs = 3;
  const auto run = [&](const std::string& dir, int epochs) {
    auto partial = config;
    partial.train.epochs = epochs;
    torch::manual_seed(3);
    auto model = models::makeModel(partial.model, 24);
    Trainer trainer(partial, model, data_, (root_ / dir).string());
    trainer.resume();
    trainer.fit([](const tracking::EpochRecord&, const tracking::RunSummary&) {});
    return snapshot(model, "");
  };
  const auto straight = run("straight", 3);
  run("boundary", 1);  // stops at the end of phase "head"
  const auto from_boundary = run("boundary", 3);
  run("inside", 2);  // stops inside phase "all"
  const auto from_inside = run("inside", 3);
  for (const auto& [name, value] : straight) {
    EXPECT_TRUE(torch::equal(from_boundary.at(name), value)) << name;
    EXPECT_TRUE(torch::equal(from_inside.at(name), value)) << name;
  }
}

TEST(Phases, PlanPlacesPhasesBackToBack) {
  config::TrainConfig train;
  train.epochs = 5;
  EXPECT_EQ(planPhases(train).size(), 1u);
  EXPECT_EQ(planPhases(train)[0].last_epoch, 5);
  config::PhaseConfig first, second;
  first.epochs = 2;
  second.epochs = 3;
  train.phases = {first, second};
  const auto plans = planPhases(train);
  EXPECT_EQ(plans[0].name, "phase1");
  EXPECT_EQ(plans[1].first_epoch, 3);
  EXPECT_EQ(plans[1].last_epoch, 5);
  EXPECT_EQ(phaseForEpoch(plans, 2).index, 0);
  EXPECT_EQ(phaseForEpoch(plans, 3).index, 1);
}

TEST(Phases, UnknownBlockIsAConfigErrorListingTheBlocks) {
  config::ModelConfig model_config;
  auto model = models::makeModel(model_config, 48);
  PhasePlan plan;
  plan.config.trainable = {"layer9"};
  try {
    setUpPhase(*model, plan, config::TrainConfig{});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("train.phases[0].trainable"), std::string::npos) << message;
    EXPECT_NE(message.find("layer9"), std::string::npos) << message;
    EXPECT_NE(message.find("features"), std::string::npos) << message;
  }
}

// Layer-wise decay: the head keeps the phase's lr, each block below the top gets another
// factor of layer_decay.
TEST(Phases, LayerDecayScalesLearningRatesPerBlock) {
  config::ModelConfig model_config;
  auto model = models::makeModel(model_config, 48);
  PhasePlan plan;
  plan.config.trainable = {"all"};
  plan.config.layer_decay = 0.5;
  config::TrainConfig train;
  train.lr = 0.1;
  const auto setup = setUpPhase(*model, plan, train);
  ASSERT_EQ(setup.groups.size(), 2u);  // classifier (head), features
  EXPECT_DOUBLE_EQ(setup.groups[0].lr, 0.1);
  EXPECT_DOUBLE_EQ(setup.groups[1].lr, 0.1 * 0.5 * 0.5);  // "features" is 2 blocks below the top
  EXPECT_EQ(setup.trainable_params, setup.total_params);
}

}  // namespace
}  // namespace ferlab::train
