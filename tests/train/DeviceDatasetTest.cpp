#include "framework/train/DeviceDataset.h"

#include <gtest/gtest.h>

#include "framework/data/SealedTestSplit.h"
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
  const DeviceDataset data(data::sealTestSplit(tinyDataset()).selection, torch::kCPU);
  EXPECT_EQ(data.count(data::Split::Train), 6);
  EXPECT_EQ(data.count(data::Split::Val), 2);
  EXPECT_EQ(data.count(data::Split::Test), 0);  // sealed away
  EXPECT_EQ(data.indices(data::Split::Val)[1].item<std::int64_t>(), 7);
  const auto picked = torch::tensor({3, 7}, torch::kInt64);
  const auto images = data.images(picked);
  EXPECT_EQ(images.sizes(), (std::vector<std::int64_t>{2, 1, 4, 4}));
  EXPECT_EQ(images.scalar_type(), torch::kUInt8);
  EXPECT_EQ(images[1][0][0][1].item<int>(), 71);
  EXPECT_EQ(data.labels(picked)[0].item<std::int64_t>(), 1);
  EXPECT_EQ(data.trainClassCounts(), (std::vector<std::int64_t>{3, 3}));
}

TEST(DeviceDataset, NormalisationUsesTrainingStatistics) {
  const DeviceDataset data(data::sealTestSplit(tinyDataset()).selection, torch::kCPU);
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

// Every new op switched on with strong parameters.
config::AugmentConfig everyOp() {
  config::AugmentConfig config;
  config.affine = 1.0;
  config.rotation = 30.0;
  config.translate = 0.1;
  config.scale_min = 0.8;
  config.scale_max = 1.2;
  config.shear = 10.0;
  config.jitter = 1.0;
  config.brightness = 0.2;
  config.contrast = 0.3;
  config.erase = 1.0;
  return config;
}

torch::Tensor randomImages(std::int64_t batch, std::int64_t side) {
  return torch::randint(256, {batch, 1, side, side}, torch::kInt64).to(torch::kUInt8);
}

TEST(Augment, AugmentsAnythingSeesEveryOp) {
  const auto changes = [](auto set) {
    config::AugmentConfig config;
    set(config);
    return augmentsAnything(config);
  };
  EXPECT_TRUE(changes([](auto& c) { c.affine = 0.5, c.rotation = 10; }));
  EXPECT_TRUE(changes([](auto& c) { c.affine = 0.5, c.translate = 0.1; }));
  EXPECT_TRUE(changes([](auto& c) { c.affine = 0.5, c.scale_min = 0.9; }));
  EXPECT_TRUE(changes([](auto& c) { c.affine = 0.5, c.scale_max = 1.1; }));
  EXPECT_TRUE(changes([](auto& c) { c.affine = 0.5, c.shear = 5; }));
  EXPECT_TRUE(changes([](auto& c) { c.jitter = 0.5, c.brightness = 0.1; }));
  EXPECT_TRUE(changes([](auto& c) { c.jitter = 0.5, c.contrast = 0.1; }));
  EXPECT_TRUE(changes([](auto& c) { c.erase = 0.5; }));
  // A probability without parameters, or parameters without a probability, is the identity.
  EXPECT_FALSE(changes([](auto& c) { c.affine = 1.0; }));
  EXPECT_FALSE(changes([](auto& c) { c.jitter = 1.0; }));
  EXPECT_FALSE(changes([](auto& c) { c.rotation = 30, c.brightness = 0.5; }));
  // Input noise is applied by the trainer after normalisation, not by augmentBatch.
  EXPECT_FALSE(changes([](auto& c) { c.noise_std = 0.1; }));
}

TEST(Augment, ProbabilityZeroChangesNothing) {
  auto config = everyOp();
  config.affine = 0.0;
  config.jitter = 0.0;
  config.erase = 0.0;
  EXPECT_FALSE(augmentsAnything(config));
  const auto images = randomImages(64, 12);
  torch::manual_seed(5);
  EXPECT_TRUE(torch::equal(augmentBatch(images, config), images));
}

TEST(Augment, AffineWithZeroParametersIsTheIdentity) {
  const auto images = randomImages(16, 12);
  const auto zeros = torch::zeros({16});
  const auto ones = torch::ones({16});
  const auto all = torch::ones({16}, torch::kBool);
  const auto same = affineWhere(images, all, zeros, zeros, zeros, ones, zeros);
  const auto error = (same.to(torch::kInt32) - images.to(torch::kInt32)).abs().max();
  EXPECT_LE(error.item<int>(), 1);
  // Through augmentBatch: p = 1 with zero ranges.
  config::AugmentConfig config;
  config.affine = 1.0;
  const auto batched = augmentBatch(images, config);
  EXPECT_LE((batched.to(torch::kInt32) - images.to(torch::kInt32)).abs().max().item<int>(), 1);
}

TEST(Augment, AffineNinetyDegreesIsATransposeAndFlip) {
  const auto images = randomImages(4, 10);
  const auto zeros = torch::zeros({4});
  const auto all = torch::ones({4}, torch::kBool);
  const auto rotated =
      affineWhere(images, all, torch::full({4}, 90.0), zeros, zeros, torch::ones({4}), zeros);
  // Counter-clockwise on screen: out[i][j] = in[j][S - 1 - i] (numpy rot90).
  const auto expected = images.transpose(2, 3).flip({2});
  const auto interior = [](const torch::Tensor& t) {
    return t.slice(2, 1, -1).slice(3, 1, -1).to(torch::kInt32);
  };
  EXPECT_LE((interior(rotated) - interior(expected)).abs().max().item<int>(), 1);
}

TEST(Augment, AffineLeavesUnselectedImagesBitIdenticalAndShiftsByPixels) {
  const auto images = randomImages(2, 8);
  const auto zeros = torch::zeros({2});
  const auto shifted =
      affineWhere(images, torch::tensor({true, false}), zeros, torch::full({2}, 2.0),
                  torch::full({2}, 1.0), torch::ones({2}), zeros);
  EXPECT_TRUE(torch::equal(shifted[1], images[1]));
  // Two pixels right and one down: out[r][c] = in[r - 1][c - 2], zeros where it came from outside.
  const auto moved = shifted[0][0].to(torch::kInt32);
  const auto source = images[0][0].to(torch::kInt32);
  EXPECT_LE((moved.slice(0, 1).slice(1, 2) - source.slice(0, 0, -1).slice(1, 0, -2))
                .abs()
                .max()
                .item<int>(),
            1);
  EXPECT_EQ(moved[0].sum().item<int>(), 0);
  EXPECT_EQ(moved.select(1, 0).sum().item<int>(), 0);
}

TEST(Augment, JitterShiftsAndScalesAroundTheMean) {
  const auto images = torch::tensor({100, 110, 120, 130}, torch::kInt64)
                          .to(torch::kUInt8)
                          .view({1, 1, 2, 2})
                          .repeat({2, 1, 1, 1});
  const auto mask = torch::tensor({true, false});
  const auto same = jitterWhere(images, mask, torch::zeros({2}), torch::ones({2}));
  EXPECT_TRUE(torch::equal(same, images));
  // Mean 115: contrast 2 gives 85, 105, 125, 145; brightness +10 adds 10.
  const auto jittered = jitterWhere(images, mask, torch::full({2}, 10.0), torch::full({2}, 2.0));
  const auto expected = torch::tensor({95, 115, 135, 155}, torch::kInt64).to(torch::kUInt8);
  EXPECT_TRUE(torch::equal(jittered[0].flatten(), expected));
  EXPECT_TRUE(torch::equal(jittered[1], images[1]));
  // Clamped to [0, 255].
  const auto bright = jitterWhere(images, mask, torch::full({2}, 200.0), torch::ones({2}));
  EXPECT_EQ(bright[0].min().item<int>(), 255);
}

TEST(Augment, ErasingStaysInItsBox) {
  const auto images = torch::full({2, 1, 6, 6}, 7, torch::kUInt8);
  const auto fill = torch::full({2, 1, 6, 6}, 200, torch::kUInt8);
  const auto erased = eraseBoxes(images, torch::tensor({1, 0}), torch::tensor({2, 0}),
                                 torch::tensor({3, 0}), torch::tensor({2, 4}), fill);
  EXPECT_TRUE(torch::equal(erased[1], images[1]));  // height 0: nothing erased
  const auto changed = erased[0][0] != images[0][0];
  EXPECT_EQ(changed.sum().item<int>(), 6);
  EXPECT_TRUE(changed.slice(0, 1, 4).slice(1, 2, 4).all().item<bool>());

  // Random erasing through augmentBatch: the changed pixels fit in a box no bigger than
  // erase_area_max of the image (plus rounding of its sides).
  config::AugmentConfig config;
  config.erase = 1.0;
  config.erase_area_min = 0.1;
  config.erase_area_max = 0.2;
  const auto side = 20;
  const auto constant = torch::full({200, 1, side, side}, 128, torch::kUInt8);
  torch::manual_seed(11);
  const auto out = augmentBatch(constant, config);
  int erased_images = 0;
  for (int i = 0; i < 200; ++i) {
    const auto where = (out[i][0] != 128).nonzero();
    if (where.size(0) == 0) continue;
    ++erased_images;
    const auto low = std::get<0>(where.min(0)), high = std::get<0>(where.max(0));
    const auto box = (high - low + 1).prod().item<std::int64_t>();
    EXPECT_LE(box, static_cast<std::int64_t>(0.2 * side * side * 1.4));
    EXPECT_LE(where.size(0), box);
  }
  EXPECT_GT(erased_images, 180);  // p = 1; a few boxes may not fit within 10 tries
}

TEST(Augment, NewOpsAreDeterministicUnderASeedAndLeaveUnselectedImagesAlone) {
  auto config = everyOp();
  const auto images = randomImages(256, 16);
  torch::manual_seed(21);
  const auto first = augmentBatch(images, config);
  torch::manual_seed(21);
  const auto second = augmentBatch(images, config);
  EXPECT_TRUE(torch::equal(first, second));
  EXPECT_FALSE(torch::equal(first, images));

  // p = 0.5 per op: the images no op picked come back bit-identical.
  config.affine = config.jitter = config.erase = 0.5;
  torch::manual_seed(22);
  const auto half = augmentBatch(images, config);
  const auto unchanged = (half == images).flatten(1).all(1).sum().item<std::int64_t>();
  EXPECT_GT(unchanged, 16);  // 256 / 8 = 32 expected
  EXPECT_LT(unchanged, 64);
}

TEST(Augment, InputNoiseHasTheRequestedStd) {
  const auto normalized = torch::randn({4096, 1, 16, 16});
  torch::manual_seed(9);
  const auto noisy = addInputNoise(normalized, 0.3);
  const auto noise = noisy - normalized;
  EXPECT_NEAR(noise.std().item<double>(), 0.3, 0.3 * 0.02);
  EXPECT_NEAR(noise.mean().item<double>(), 0.0, 0.01);
  EXPECT_EQ(noisy.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(addInputNoise(normalized, 0.0), normalized));
}

}  // namespace
}  // namespace ferlab::train
