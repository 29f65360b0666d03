// Mixup / CutMix (Augment.h), the mixed training loss and dominant-label accuracy
// (Trainer.h), ten-crop test-time views, and the per-epoch class counts the trainer records.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include <unistd.h>

#include <torch/nn/functional.h>

#include "framework/core/Errors.h"
#include "framework/models/ModelRegistry.h"
#include "framework/train/Augment.h"
#include "framework/train/Balance.h"
#include "framework/data/SealedTestSplit.h"
#include "framework/train/Trainer.h"

namespace ferlab::train {
namespace {

namespace F = torch::nn::functional;
namespace fs = std::filesystem;

// A float batch whose every pixel value is distinct, so a pasted pixel never equals the
// original by accident.
torch::Tensor distinctBatch(std::int64_t batch, std::int64_t side) {
  return torch::arange(batch * side * side, torch::kFloat32).view({batch, 1, side, side});
}

config::AugmentConfig mixupOnly(double alpha) {
  config::AugmentConfig config;
  config.mixup = 1.0;
  config.mixup_alpha = alpha;
  return config;
}

config::AugmentConfig cutmixOnly(double alpha) {
  config::AugmentConfig config;
  config.cutmix = 1.0;
  config.cutmix_alpha = alpha;
  return config;
}

bool isPermutation(const torch::Tensor& permutation, std::int64_t n) {
  return torch::equal(std::get<0>(permutation.sort()), torch::arange(n, torch::kInt64));
}

TEST(Mixup, MixesWithThePermutedBatchByLambda) {
  const auto inputs = torch::randn({8, 1, 6, 6});
  torch::manual_seed(42);
  BatchMix mix;
  const auto mixed = mixBatch(inputs, mixupOnly(0.4), mix);
  ASSERT_EQ(mix.kind, MixKind::Mixup);
  ASSERT_TRUE(isPermutation(mix.permutation, 8));
  EXPECT_GT(mix.lambda, 0.0);
  EXPECT_LT(mix.lambda, 1.0);
  const auto expected =
      inputs * mix.lambda + inputs.index_select(0, mix.permutation) * (1.0 - mix.lambda);
  EXPECT_TRUE(torch::equal(mixed, expected));
  // Image 0 by hand, in double precision.
  const auto partner = mix.permutation[0].item<std::int64_t>();
  const double by_hand = mix.lambda * inputs[0][0][2][3].item<double>() +
                         (1.0 - mix.lambda) * inputs[partner][0][2][3].item<double>();
  EXPECT_NEAR(mixed[0][0][2][3].item<double>(), by_hand, 1e-5);
}

TEST(Mixup, ZeroProbabilitiesDrawNothingAndChangeNothing) {
  const auto inputs = torch::randn({4, 1, 5, 5});
  torch::manual_seed(9);
  BatchMix mix;
  const auto out = mixBatch(inputs, config::AugmentConfig{}, mix);
  EXPECT_FALSE(mix.mixed());
  EXPECT_TRUE(torch::equal(out, inputs));
  const auto next = torch::rand({1}).item<double>();
  torch::manual_seed(9);
  EXPECT_EQ(torch::rand({1}).item<double>(), next);  // the stream was not touched
}

// Beta(a, a) has mean 1/2 and variance 1 / (4 (2a + 1)).
TEST(Mixup, BetaDrawsHaveTheBetaMoments) {
  torch::manual_seed(1);
  for (const double alpha : {0.2, 1.0, 4.0}) {
    const int n = 20000;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n; ++i) {
      const double x = sampleBeta(alpha);
      ASSERT_GE(x, 0.0);
      ASSERT_LE(x, 1.0);
      sum += x;
      sum_sq += x * x;
    }
    const double mean = sum / n, variance = sum_sq / n - mean * mean;
    EXPECT_NEAR(mean, 0.5, 0.01) << "alpha " << alpha;
    EXPECT_NEAR(variance, 1.0 / (4.0 * (2.0 * alpha + 1.0)), 0.01) << "alpha " << alpha;
  }
}

TEST(CutMix, BoxFollowsTheReferenceCodeAndIsClipped) {
  // lambda 0.75: sides 48 * sqrt(0.25) = 24, half 12 each way.
  const auto centred = cutmixBox(48, 48, 0.75, 24, 24);
  EXPECT_EQ(centred.top, 12);
  EXPECT_EQ(centred.left, 12);
  EXPECT_EQ(centred.height, 24);
  EXPECT_EQ(centred.width, 24);
  EXPECT_DOUBLE_EQ(keptAreaFraction(centred, 48, 48), 0.75);
  const auto corner = cutmixBox(48, 48, 0.75, 0, 47);  // clipped at the top and the right
  EXPECT_EQ(corner.top, 0);
  EXPECT_EQ(corner.height, 12);
  EXPECT_EQ(corner.left, 35);
  EXPECT_EQ(corner.width, 13);
  EXPECT_DOUBLE_EQ(keptAreaFraction(corner, 48, 48), 1.0 - 12.0 * 13.0 / (48.0 * 48.0));
  const auto nothing = cutmixBox(48, 48, 1.0, 10, 10);
  EXPECT_EQ(nothing.height * nothing.width, 0);
}

// Over many seeds: the box stays inside the image, the pasted pixels come from the partner,
// the others are untouched, and lambda is exactly the unpasted area fraction.
TEST(CutMix, BoxInsideImageAndLambdaIsTheUnpastedArea) {
  const std::int64_t batch = 6, side = 12;
  const auto inputs = distinctBatch(batch, side);
  int clipped = 0;
  for (int seed = 0; seed < 200; ++seed) {
    torch::manual_seed(seed);
    BatchMix mix;
    const auto mixed = mixBatch(inputs, cutmixOnly(1.0), mix);
    ASSERT_EQ(mix.kind, MixKind::CutMix);
    ASSERT_TRUE(isPermutation(mix.permutation, batch));
    const auto& box = mix.box;
    ASSERT_GE(box.top, 0);
    ASSERT_GE(box.left, 0);
    ASSERT_LE(box.top + box.height, side);
    ASSERT_LE(box.left + box.width, side);
    ASSERT_DOUBLE_EQ(mix.lambda, keptAreaFraction(box, side, side));
    clipped += box.top == 0 || box.left == 0 || box.top + box.height == side ||
               box.left + box.width == side;
    const auto partners = inputs.index_select(0, mix.permutation);
    for (std::int64_t i = 0; i < batch; ++i) {
      if (mix.permutation[i].item<std::int64_t>() == i) {
        ASSERT_TRUE(torch::equal(mixed[i], inputs[i]));
        continue;
      }
      const auto kept = mixed[i].eq(inputs[i]).to(torch::kFloat64).mean().item<double>();
      ASSERT_DOUBLE_EQ(kept, mix.lambda) << "seed " << seed;
      const auto window = [&](const torch::Tensor& t) {
        return t.slice(1, box.top, box.top + box.height).slice(2, box.left, box.left + box.width);
      };
      ASSERT_TRUE(torch::equal(window(mixed[i]), window(partners[i])));
    }
  }
  EXPECT_GT(clipped, 0);  // the clipping path was exercised
}

TEST(Mixing, SameSeedSameBatchOtherSeedOtherBatch) {
  const auto inputs = torch::randn({16, 1, 8, 8});
  config::AugmentConfig config;
  config.mixup = 0.5;
  config.cutmix = 0.5;
  const auto draw = [&](int seed, BatchMix& mix) {
    torch::manual_seed(seed);
    return mixBatch(inputs, config, mix);
  };
  BatchMix a, b, c;
  const auto first = draw(5, a), second = draw(5, b), other = draw(6, c);
  EXPECT_TRUE(torch::equal(first, second));
  EXPECT_TRUE(torch::equal(a.permutation, b.permutation));
  EXPECT_EQ(a.lambda, b.lambda);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_FALSE(torch::equal(first, other));
}

config::RunConfig lossConfig(const std::string& method, double smoothing) {
  config::RunConfig config;
  config.balance.method = config::parseChoice<config::BalanceMethod>(method).value();
  config.train.label_smoothing = smoothing;
  return config;
}

TEST(MixedLoss, IsTheLambdaWeightedSumOfTheTwoLabelsLosses) {
  torch::manual_seed(0);
  const auto logits = torch::randn({10, 4});
  const auto labels = torch::randint(4, {10}, torch::kInt64);
  BatchMix mix;
  mix.kind = MixKind::Mixup;
  mix.lambda = 0.3;
  mix.permutation = torch::randperm(10, torch::kInt64);
  const auto partner_labels = labels.index_select(0, mix.permutation);
  const auto weights = torch::tensor({0.5f, 1.0f, 2.0f, 4.0f});
  // Cross-entropy with smoothing and class weights, computed directly.
  const auto options = F::CrossEntropyFuncOptions().label_smoothing(0.1).weight(weights);
  const auto expected = 0.3 * F::cross_entropy(logits, labels, options) +
                        0.7 * F::cross_entropy(logits, partner_labels, options);
  const auto actual = trainingLoss(logits, labels, mix, lossConfig("class_weights", 0.1), weights);
  EXPECT_NEAR(actual.item<double>(), expected.item<double>(), 1e-6);
  // Focal loss.
  const auto focal_expected =
      0.3 * focalLoss(logits, labels, 2.0) + 0.7 * focalLoss(logits, partner_labels, 2.0);
  EXPECT_NEAR(trainingLoss(logits, labels, mix, lossConfig("focal", 0.0), {}).item<double>(),
              focal_expected.item<double>(), 1e-6);
  // Plain cross-entropy equals the cross-entropy against the mixed one-hot target.
  const auto target = F::one_hot(labels, 4).to(torch::kFloat32) * 0.3 +
                      F::one_hot(partner_labels, 4).to(torch::kFloat32) * 0.7;
  const auto soft = -(target * torch::log_softmax(logits, 1)).sum(1).mean();
  EXPECT_NEAR(trainingLoss(logits, labels, mix, lossConfig("none", 0.0), {}).item<double>(),
              soft.item<double>(), 1e-6);
  // Unmixed: the plain loss.
  EXPECT_NEAR(trainingLoss(logits, labels, BatchMix{}, lossConfig("none", 0.0), {}).item<double>(),
              F::cross_entropy(logits, labels).item<double>(), 1e-7);
}

TEST(MixedLoss, AccuracyCountsAgainstTheDominantLabel) {
  const auto labels = torch::tensor({0, 1, 2}, torch::kInt64);
  BatchMix mix;
  mix.kind = MixKind::CutMix;
  mix.permutation = torch::tensor({2, 0, 1}, torch::kInt64);
  mix.lambda = 0.6;
  EXPECT_TRUE(torch::equal(dominantLabels(labels, mix), labels));
  mix.lambda = 0.4;
  EXPECT_TRUE(torch::equal(dominantLabels(labels, mix), torch::tensor({2, 0, 1}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(dominantLabels(labels, BatchMix{}), labels));
}

TEST(TenCrop, CornersCentreAndMirrorsMatchManualSlices) {
  const auto corners = fiveCropCorners(48, 40);
  ASSERT_EQ(corners.size(), 5u);
  EXPECT_EQ(corners[0], std::make_pair(std::int64_t{0}, std::int64_t{0}));
  EXPECT_EQ(corners[1], std::make_pair(std::int64_t{0}, std::int64_t{8}));
  EXPECT_EQ(corners[2], std::make_pair(std::int64_t{8}, std::int64_t{0}));
  EXPECT_EQ(corners[3], std::make_pair(std::int64_t{8}, std::int64_t{8}));
  EXPECT_EQ(corners[4], std::make_pair(std::int64_t{4}, std::int64_t{4}));

  const auto inputs = torch::randn({3, 1, 10, 10});
  const auto resize = [](const torch::Tensor& crop) {
    return F::interpolate(crop, F::InterpolateFuncOptions()
                                    .size(std::vector<std::int64_t>{10, 10})
                                    .mode(torch::kBilinear)
                                    .align_corners(false));
  };
  const auto views = tenCropViews(inputs, 7);
  ASSERT_EQ(views.size(), 10u);
  // top-left, top-right, bottom-left, bottom-right, centre (round(3 / 2) = 2).
  const std::vector<std::pair<int, int>> manual = {{0, 0}, {0, 3}, {3, 0}, {3, 3}, {2, 2}};
  for (std::size_t i = 0; i < manual.size(); ++i) {
    const auto [top, left] = manual[i];
    const auto crop = inputs.slice(2, top, top + 7).slice(3, left, left + 7);
    EXPECT_TRUE(torch::allclose(views[2 * i], resize(crop))) << "crop " << i;
    EXPECT_TRUE(torch::equal(views[2 * i + 1], views[2 * i].flip({3}))) << "mirror " << i;
    EXPECT_EQ(views[2 * i].sizes(), inputs.sizes());
  }
  // Crops as large as the image are the image itself, unresized.
  const auto full = tenCropViews(inputs, 10);
  for (std::size_t i = 0; i < full.size(); i += 2) EXPECT_TRUE(torch::equal(full[i], inputs));
}

TEST(TenCrop, ConstantImageGivesConstantViews) {
  const auto inputs = torch::full({2, 1, 12, 12}, 0.75f);
  for (const auto& view : tenCropViews(inputs, 9))
    EXPECT_TRUE(torch::allclose(view, inputs, 0, 1e-6));
}

// --- Trainer: ten-crop evaluation and per-epoch class counts ------------------------------

// Train: 12 / 4 / 8 images of classes 0 / 1 / 2 (class c bright in band c); val and test:
// 6 constant images of different grey levels.
data::Dataset imbalancedDataset() {
  data::Dataset dataset;
  dataset.image_size = 24;
  dataset.class_names = {"top", "middle", "bottom"};
  std::mt19937 generator(3);
  std::uniform_int_distribution<int> noise(0, 40);
  const int per_class[3] = {12, 4, 8};
  int index = 0;
  const auto add = [&](int label, data::Split split, auto pixel) {
    for (int y = 0; y < 24; ++y) {
      for (int x = 0; x < 24; ++x) dataset.pixels.push_back(static_cast<std::uint8_t>(pixel(y)));
    }
    dataset.labels.push_back(label);
    dataset.splits.push_back(split);
    dataset.sample_ids.push_back("s" + std::to_string(index++));
  };
  for (int label = 0; label < 3; ++label) {
    for (int i = 0; i < per_class[label]; ++i) {
      add(label, data::Split::Train,
          [&](int y) { return (y / 8 == label ? 180 : 20) + noise(generator); });
    }
  }
  for (const auto split : {data::Split::Val, data::Split::Test}) {
    for (int i = 0; i < 6; ++i) add(i % 3, split, [&](int) { return 30 + 40 * i; });
  }
  return dataset;
}

class MixTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ferlab_mix_" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static config::RunConfig baseConfig() {
    config::RunConfig config;
    config.model.name = config::ModelName::SimpleCnn;
    config.model.num_classes = 3;
    config.train.epochs = 2;
    config.train.batch_size = 8;
    config.train.seed = 4;
    return config;
  }

  // Trains `config` and returns the epoch records and the final parameters.
  std::vector<tracking::EpochRecord> fit(const config::RunConfig& config, const std::string& dir,
                                         std::vector<torch::Tensor>* parameters = nullptr) {
    torch::manual_seed(config.train.seed);
    auto model = models::makeModel(config.model, 24);
    Trainer trainer(config, model, data_, (root_ / dir).string());
    std::vector<tracking::EpochRecord> records;
    trainer.fit(
        [&](const tracking::EpochRecord& r, const tracking::RunSummary&) { records.push_back(r); });
    if (parameters != nullptr) {
      for (const auto& p : model->parameters()) parameters->push_back(p.detach().clone());
    }
    return records;
  }

  fs::path root_;
  data::Dataset dataset_ = imbalancedDataset();
  DeviceDataset data_{data::sealTestSplit(dataset_).selection, torch::kCPU};
};

TEST_F(MixTrainerTest, TenCropOnConstantImagesEqualsNoTta) {
  auto plain = baseConfig();
  auto ten_crop = plain;
  ten_crop.eval.tta = config::Tta::TenCrop;
  ten_crop.eval.crop_size = 17;
  torch::manual_seed(1);
  auto model = models::makeModel(plain.model, 24);
  Trainer without(plain, model, data_, (root_ / "a").string());
  const auto reference = without.evaluate(data::Split::Val);
  Trainer with(ten_crop, model, data_, (root_ / "b").string());
  const auto averaged = with.evaluate(data::Split::Val);
  ASSERT_EQ(reference.probabilities.size(), averaged.probabilities.size());
  for (std::size_t i = 0; i < reference.probabilities.size(); ++i)
    EXPECT_NEAR(reference.probabilities[i], averaged.probabilities[i], 1e-5);
  EXPECT_EQ(reference.predicted, averaged.predicted);
}

TEST_F(MixTrainerTest, CropLargerThanTheImageIsAConfigError) {
  auto config = baseConfig();
  config.eval.tta = config::Tta::TenCrop;
  config.eval.crop_size = 25;
  auto model = models::makeModel(config.model, 24);
  EXPECT_THROW(Trainer(config, model, data_, (root_ / "c").string()), ConfigError);
}

TEST_F(MixTrainerTest, ClassCountsFollowTheBalancing) {
  auto config = baseConfig();
  const auto plain = fit(config, "plain");
  ASSERT_EQ(plain.size(), 2u);
  for (const auto& record : plain)
    EXPECT_EQ(record.class_counts, (std::vector<std::int64_t>{12, 4, 8}));
  config.balance.method = config::BalanceMethod::Oversample;
  const auto oversampled = fit(config, "over");  // 36 samples, batch 8: nothing dropped
  ASSERT_EQ(oversampled.size(), 2u);
  for (const auto& record : oversampled)
    EXPECT_EQ(record.class_counts, (std::vector<std::int64_t>{12, 12, 12}));
  config.balance.method = config::BalanceMethod::Undersample;
  for (const auto& record : fit(config, "under"))
    EXPECT_EQ(record.class_counts, (std::vector<std::int64_t>{4, 4, 4}));
}

TEST_F(MixTrainerTest, MixedTrainingIsDeterministicAndChangesTraining) {
  auto config = baseConfig();
  config.augment.hflip = 0.5;
  config.augment.noise_std = 0.1;
  std::vector<torch::Tensor> unmixed, first, second;
  fit(config, "unmixed", &unmixed);
  config.augment.mixup = 0.5;
  config.augment.cutmix = 0.5;
  const auto records = fit(config, "first", &first);
  fit(config, "second", &second);
  ASSERT_EQ(first.size(), second.size());
  bool differs = false;
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_TRUE(torch::equal(first[i], second[i]));
    differs = differs || !torch::equal(first[i], unmixed[i]);
  }
  EXPECT_TRUE(differs);
  for (const auto& record : records) {
    EXPECT_GE(record.train_accuracy, 0.0);
    EXPECT_LE(record.train_accuracy, 1.0);
    EXPECT_TRUE(std::isfinite(record.train_loss));
  }
}

}  // namespace
}  // namespace ferlab::train
