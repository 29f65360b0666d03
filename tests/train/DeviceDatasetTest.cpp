#include "framework/train/DeviceDataset.h"

#include <gtest/gtest.h>

#include "framework/train/Augment.h"

namespace ferlab::train {
namespace {

// A 10-image dataset with distinct pixel ramps: 6 train, 2 val, 2 test.
data::Dataset tinyDataset() {
  data::Dataset dataset;
  dataset.image_size = 4;
  dataset.class_names = {"a", "b"};
  for (int i = 0; i < 10; ++i) {
    for (int p = 0; p < 16; ++p) dataset.pixels.push_back(static_cast<std::uint8_t>(10 * i + p));
    dataset.labels.push_back(i % 2);
    dataset.splits.push_back(i < 6 ? data::Split::Train
                                   : (i < 8 ? data::Split::Val : data::Split::Test));
    dataset.sample_ids.push_back("img" + std::to_string(i));
  }
  return dataset;
}

TEST(DeviceDataset, IndicesLabelsAndImagesFollowTheDataset) {
  const DeviceDataset data(tinyDataset(), torch::kCPU);
  EXPECT_EQ(data.count(data::Split::Train), 6);
  EXPECT_EQ(data.count(data::Split::Val), 2);
  EXPECT_EQ(data.indices(data::Split::Test)[0].item<std::int64_t>(), 8);
  const auto picked = torch::tensor({3, 8}, torch::kInt64);
  const auto images = data.images(picked);
  EXPECT_EQ(images.sizes(), (std::vector<std::int64_t>{2, 1, 4, 4}));
  EXPECT_EQ(images.scalar_type(), torch::kUInt8);
  EXPECT_EQ(images[1][0][0][1].item<int>(), 81);
  EXPECT_EQ(data.labels(picked)[0].item<std::int64_t>(), 1);
  EXPECT_EQ(data.trainClassCounts(), (std::vector<std::int64_t>{3, 3}));
}

TEST(DeviceDataset, NormalisationUsesTrainingStatistics) {
  const DeviceDataset data(tinyDataset(), torch::kCPU);
  const auto train =
      data.normalize(data.images(data.indices(data::Split::Train))).to(torch::kFloat64);
  EXPECT_NEAR(train.mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(train.std().item<double>(), 1.0, 1e-4);
}

TEST(Augment, FlipTwiceIsIdentityAndMaskSelectsImages) {
  const auto images = torch::arange(2 * 16, torch::kInt64).to(torch::kUInt8).view({2, 1, 4, 4});
  const auto mask = torch::tensor({true, false});
  const auto flipped = flipWhere(images, mask);
  EXPECT_TRUE(torch::equal(flipped[0], images[0].flip({2})));
  EXPECT_TRUE(torch::equal(flipped[1], images[1]));
  EXPECT_TRUE(torch::equal(flipWhere(flipped, mask), images));
}

TEST(Augment, CropWithPaddingShiftsAndZeroFills) {
  const auto images = (torch::arange(16, torch::kInt64) + 1).to(torch::kUInt8).view({1, 1, 4, 4});
  // Offset (P, P) is the original image.
  const auto centred = cropWithPadding(images, 2, torch::tensor({2}), torch::tensor({2}));
  EXPECT_TRUE(torch::equal(centred, images));
  // Offset (0, 0) shows the padding: two zero rows and columns at the top left.
  const auto corner = cropWithPadding(images, 2, torch::tensor({0}), torch::tensor({0}));
  EXPECT_EQ(corner[0][0][0].sum().item<int>(), 0);
  EXPECT_EQ(corner[0][0][2][2].item<int>(), 1);  // original (0, 0)
  EXPECT_EQ(corner[0][0][3][3].item<int>(), 6);  // original (1, 1)
}

TEST(Augment, DeterministicUnderASeedAndFlipsAboutHalf) {
  config::AugmentConfig config;
  config.hflip = 0.5;
  config.crop_padding = 1;
  const auto images = torch::randint(256, {2000, 1, 8, 8}).to(torch::kUInt8);
  torch::manual_seed(3);
  const auto first = augmentBatch(images, config);
  torch::manual_seed(3);
  const auto second = augmentBatch(images, config);
  EXPECT_TRUE(torch::equal(first, second));

  config.crop_padding = 0;
  torch::manual_seed(4);
  const auto flipped = augmentBatch(images, config);
  const auto changed = (flipped != images).flatten(1).any(1).sum().item<std::int64_t>();
  EXPECT_GT(changed, 900);  // p = 0.5 of 2000: 1000 +- 22 (1 sd)
  EXPECT_LT(changed, 1100);
}

TEST(Augment, NothingConfiguredMeansNoChange) {
  EXPECT_FALSE(augmentsAnything(config::AugmentConfig{}));
}

}  // namespace
}  // namespace ferlab::train
