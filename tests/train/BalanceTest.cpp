#include "framework/train/Balance.h"

#include <gtest/gtest.h>

#include <torch/nn/functional/loss.h>

#include "framework/core/Errors.h"

namespace ferlab::train {
namespace {

// An imbalanced training split: 3 classes with 50, 10 and 140 samples, dataset indices
// 1000.. so indices and positions differ.
struct Imbalanced {
  torch::Tensor indices = torch::arange(1000, 1200, torch::kInt64);
  torch::Tensor labels =
      torch::cat({torch::full({50}, 0, torch::kInt64), torch::full({10}, 1, torch::kInt64),
                  torch::full({140}, 2, torch::kInt64)});
  // Class of each dataset index in an epoch order.
  torch::Tensor classesOf(const torch::Tensor& order) const {
    return labels.index_select(0, order - 1000);
  }
};

std::vector<std::int64_t> counts(const torch::Tensor& classes) {
  const auto binned = torch::bincount(classes, {}, 3);
  return {binned[0].item<std::int64_t>(), binned[1].item<std::int64_t>(),
          binned[2].item<std::int64_t>()};
}

TEST(Balance, NoneVisitsEverySampleOnce) {
  const Imbalanced data;
  torch::manual_seed(0);
  const auto order = balancedEpochOrder(data.indices, data.labels, 3, config::BalanceMethod::None);
  EXPECT_TRUE(torch::equal(std::get<0>(order.sort()), data.indices));
}

// imbalanced-learn RandomOverSampler: originals kept, duplicates up to the largest class.
TEST(Balance, OversampledEpochHasEqualClassCountsAndKeepsEverySample) {
  const Imbalanced data;
  torch::manual_seed(0);
  const auto order =
      balancedEpochOrder(data.indices, data.labels, 3, config::BalanceMethod::Oversample);
  EXPECT_EQ(counts(data.classesOf(order)), (std::vector<std::int64_t>{140, 140, 140}));
  EXPECT_EQ(std::get<0>(torch::_unique(order)).size(0), 200);  // every original present
}

TEST(Balance, UndersampledEpochHasEqualClassCountsWithoutRepeats) {
  const Imbalanced data;
  torch::manual_seed(0);
  const auto order =
      balancedEpochOrder(data.indices, data.labels, 3, config::BalanceMethod::Undersample);
  EXPECT_EQ(counts(data.classesOf(order)), (std::vector<std::int64_t>{10, 10, 10}));
  EXPECT_EQ(std::get<0>(torch::_unique(order)).size(0), 30);
}

// Each draw picks a class with probability 1/3: over 50 epochs (10,000 draws) each class's
// share is within 0.02 of 1/3 (binomial sd 0.0047).
TEST(Balance, WeightedSamplerDrawsClassesUniformly) {
  const Imbalanced data;
  torch::manual_seed(0);
  std::vector<torch::Tensor> epochs;
  for (int epoch = 0; epoch < 50; ++epoch) {
    epochs.push_back(data.classesOf(
        balancedEpochOrder(data.indices, data.labels, 3, config::BalanceMethod::WeightedSampler)));
  }
  const auto all = counts(torch::cat(epochs));
  for (const auto count : all) EXPECT_NEAR(count / 10000.0, 1.0 / 3.0, 0.02);
}

TEST(Balance, SeededOrdersRepeat) {
  const Imbalanced data;
  torch::manual_seed(5);
  const auto first =
      balancedEpochOrder(data.indices, data.labels, 3, config::BalanceMethod::Oversample);
  torch::manual_seed(5);
  EXPECT_TRUE(torch::equal(
      first, balancedEpochOrder(data.indices, data.labels, 3, config::BalanceMethod::Oversample)));
}

TEST(Balance, FocalLossWithGammaZeroIsCrossEntropyAndDownweightsEasySamples) {
  torch::manual_seed(1);
  const auto logits = torch::randn({16, 7});
  const auto labels = torch::randint(7, {16}, torch::kInt64);
  const auto cross_entropy = torch::nn::functional::cross_entropy(logits, labels);
  EXPECT_NEAR(focalLoss(logits, labels, 0.0).item<double>(), cross_entropy.item<double>(), 1e-6);
  // A confident correct sample: p_t = 0.9 -> -(0.1)^2 log 0.9.
  const auto confident = torch::tensor({{std::log(0.9f), std::log(0.1f)}});
  EXPECT_NEAR(focalLoss(confident, torch::tensor({0}, torch::kInt64), 2.0).item<double>(),
              -0.01 * std::log(0.9), 1e-6);
}

}  // namespace
}  // namespace ferlab::train
