#include "framework/data/Splits.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "framework/core/Errors.h"

namespace ferlab::data {
namespace {

// FER2013's Training class sizes divided by ten (../shared/data/README.md), in label order:
// the real imbalance, with disgust 20 times rarer than happy.
const std::vector<std::int64_t> kClassSizes = {400, 44, 410, 722, 483, 317, 497};

// An in-memory dataset with kClassSizes samples per class, interleaved so no class is
// contiguous, every sample's pixels set to a value that identifies it.
Dataset makeDataset(int imageSize = 4) {
  Dataset dataset;
  dataset.image_size = imageSize;
  dataset.class_names = fer2013ClassNames();
  std::vector<std::int64_t> left = kClassSizes;
  for (bool added = true; added;) {
    added = false;
    for (std::size_t c = 0; c < left.size(); ++c) {
      if (left[c] == 0) continue;
      --left[c];
      added = true;
      const std::size_t index = dataset.labels.size();
      dataset.labels.push_back(static_cast<std::int64_t>(c));
      dataset.splits.push_back(Split::Train);
      dataset.sample_ids.push_back("sample" + std::to_string(index));
      dataset.pixels.insert(dataset.pixels.end(), static_cast<std::size_t>(imageSize * imageSize),
                            static_cast<std::uint8_t>(index % 251));
    }
  }
  dataset.key = "0123456789abcdef";
  return dataset;
}

std::int64_t expectedQuota(double fraction, std::int64_t n) {
  if (n == 0) return 0;
  return std::clamp<std::int64_t>(std::llround(fraction * static_cast<double>(n)), 1, n);
}

std::vector<std::int64_t> expectedQuotas(double fraction, const std::vector<std::int64_t>& sizes) {
  std::vector<std::int64_t> quotas;
  for (std::int64_t n : sizes) quotas.push_back(expectedQuota(fraction, n));
  return quotas;
}

std::vector<std::size_t> allIndices(const Dataset& dataset) {
  std::vector<std::size_t> indices(dataset.size());
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  return indices;
}

std::vector<std::int64_t> countsOf(const std::vector<std::size_t>& indices,
                                   const std::vector<std::int64_t>& labels) {
  std::vector<std::int64_t> counts(7, 0);
  for (std::size_t i : indices) ++counts[static_cast<std::size_t>(labels[i])];
  return counts;
}

TEST(Dataset, SplitAndClassNamesFollowFer2013) {
  EXPECT_STREQ(splitName(Split::Train), "Training");
  EXPECT_STREQ(splitName(Split::Val), "PublicTest");
  EXPECT_STREQ(splitName(Split::Test), "PrivateTest");
  EXPECT_EQ(fer2013ClassNames(), (std::vector<std::string>{"angry", "disgust", "fear", "happy",
                                                           "sad", "surprise", "neutral"}));
}

TEST(Dataset, IndicesOfAndClassCounts) {
  Dataset dataset;
  dataset.class_names = fer2013ClassNames();
  dataset.labels = {0, 6, 6, 1, 3};
  dataset.splits = {Split::Train, Split::Val, Split::Train, Split::Test, Split::Train};
  EXPECT_EQ(dataset.indicesOf(Split::Train), (std::vector<std::size_t>{0, 2, 4}));
  EXPECT_EQ(dataset.indicesOf(Split::Val), (std::vector<std::size_t>{1}));
  EXPECT_EQ(dataset.classCounts(Split::Train), (std::vector<std::int64_t>{1, 0, 0, 1, 0, 0, 1}));
  EXPECT_EQ(dataset.classCounts(Split::Test), (std::vector<std::int64_t>{0, 1, 0, 0, 0, 0, 0}));
}

TEST(StratifiedSample, KeepsEveryClassProportion) {
  const Dataset dataset = makeDataset();
  const std::vector<std::size_t> all = allIndices(dataset);
  for (double fraction : {0.01, 0.1, 0.25, 0.5, 0.9}) {
    const std::vector<std::size_t> chosen = stratifiedSample(all, dataset.labels, fraction, 7);
    EXPECT_EQ(countsOf(chosen, dataset.labels), expectedQuotas(fraction, kClassSizes)) << fraction;
    EXPECT_TRUE(std::is_sorted(chosen.begin(), chosen.end()));
    EXPECT_EQ(std::set<std::size_t>(chosen.begin(), chosen.end()).size(), chosen.size());
  }
}

TEST(StratifiedSample, RareClassKeepsOneSample) {
  const std::vector<std::int64_t> labels = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const std::vector<std::size_t> indices = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const std::vector<std::size_t> chosen = stratifiedSample(indices, labels, 0.1, 3);
  EXPECT_EQ(chosen.size(), 2u);
  EXPECT_EQ(chosen.back(), 10u);
}

TEST(StratifiedSample, DeterministicInTheSeed) {
  const Dataset dataset = makeDataset();
  const std::vector<std::size_t> all = allIndices(dataset);
  const auto a = stratifiedSample(all, dataset.labels, 0.3, 1234);
  EXPECT_EQ(stratifiedSample(all, dataset.labels, 0.3, 1234), a);
  EXPECT_NE(stratifiedSample(all, dataset.labels, 0.3, 1235), a);
  EXPECT_EQ(stratifiedSample(all, dataset.labels, 1.0, 5), all);
}

TEST(StratifiedSample, RejectsFractionsOutsideZeroToOne) {
  const Dataset dataset = makeDataset();
  for (double fraction : {0.0, -0.1, 1.5}) {
    EXPECT_THROW(stratifiedSample(allIndices(dataset), dataset.labels, fraction, 1), DataError);
  }
}

TEST(CarveMissingSplits, CarvesBothSplitsStratified) {
  Dataset dataset = makeDataset();
  carveMissingSplits(dataset, SplitCoverage{}, 0.1, 0.2, 1234);
  EXPECT_EQ(dataset.classCounts(Split::Val), expectedQuotas(0.1, kClassSizes));
  EXPECT_EQ(dataset.classCounts(Split::Test), expectedQuotas(0.2, kClassSizes));
  for (std::size_t c = 0; c < kClassSizes.size(); ++c) {
    EXPECT_EQ(dataset.classCounts(Split::Train)[c] + dataset.classCounts(Split::Val)[c] +
                  dataset.classCounts(Split::Test)[c],
              kClassSizes[c]);
  }
}

TEST(CarveMissingSplits, DeterministicInTheSeed) {
  Dataset a = makeDataset(), b = makeDataset(), c = makeDataset();
  carveMissingSplits(a, SplitCoverage{}, 0.1, 0.1, 42);
  carveMissingSplits(b, SplitCoverage{}, 0.1, 0.1, 42);
  carveMissingSplits(c, SplitCoverage{}, 0.1, 0.1, 43);
  EXPECT_EQ(a.splits, b.splits);
  EXPECT_NE(a.splits, c.splits);
  EXPECT_EQ(a.classCounts(Split::Val), c.classCounts(Split::Val));
}

TEST(CarveMissingSplits, CarvesOnlyWhatIsMissing) {
  Dataset dataset = makeDataset();
  for (std::size_t i = 0; i < dataset.size(); i += 10) dataset.splits[i] = Split::Test;
  const std::vector<std::size_t> officialTest = dataset.indicesOf(Split::Test);
  const std::size_t trainBefore = dataset.indicesOf(Split::Train).size();
  carveMissingSplits(dataset, SplitCoverage{false, true}, 0.1, 0.1, 1);
  EXPECT_EQ(dataset.indicesOf(Split::Test), officialTest);
  EXPECT_EQ(dataset.indicesOf(Split::Val).size() + dataset.indicesOf(Split::Train).size(),
            trainBefore);
  EXPECT_GT(dataset.indicesOf(Split::Val).size(), 0u);

  Dataset covered = makeDataset();
  carveMissingSplits(covered, SplitCoverage{true, true}, 0.1, 0.1, 1);
  EXPECT_EQ(covered.indicesOf(Split::Train).size(), covered.size());
}

TEST(CarveMissingSplits, TrainingKeepsOneSampleOfEveryClass) {
  Dataset dataset;
  dataset.class_names = fer2013ClassNames();
  dataset.labels = {0, 1, 1, 2, 2, 2};
  dataset.splits.assign(dataset.labels.size(), Split::Train);
  carveMissingSplits(dataset, SplitCoverage{}, 0.1, 0.1, 1);
  EXPECT_EQ(dataset.classCounts(Split::Train), (std::vector<std::int64_t>{1, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(dataset.classCounts(Split::Test), (std::vector<std::int64_t>{0, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(dataset.classCounts(Split::Val), (std::vector<std::int64_t>{0, 0, 1, 0, 0, 0, 0}));
}

TEST(CarveMissingSplits, RejectsFractionsThatLeaveNoTraining) {
  Dataset dataset = makeDataset();
  EXPECT_THROW(carveMissingSplits(dataset, SplitCoverage{}, 0.5, 0.5, 1), DataError);
  EXPECT_THROW(carveMissingSplits(dataset, SplitCoverage{}, -0.1, 0.1, 1), DataError);
}

// A dataset whose Val and Test splits are carved, as loadDataset leaves it.
Dataset makeSplitDataset() {
  Dataset dataset = makeDataset();
  carveMissingSplits(dataset, SplitCoverage{}, 0.1, 0.1, 99);
  return dataset;
}

TEST(ApplySubset, FractionThinsOnlyTheTrainingSplit) {
  const Dataset dataset = makeSplitDataset();
  const Dataset subset = applySubset(dataset, 0.1, false, 1.0, 1234);
  EXPECT_EQ(subset.classCounts(Split::Train),
            expectedQuotas(0.1, dataset.classCounts(Split::Train)));
  // PublicTest and PrivateTest stay whole, so the numbers compare with published ones.
  EXPECT_EQ(subset.indicesOf(Split::Val).size(), dataset.indicesOf(Split::Val).size());
  EXPECT_EQ(subset.indicesOf(Split::Test).size(), dataset.indicesOf(Split::Test).size());
  EXPECT_EQ(subset.classCounts(Split::Test), dataset.classCounts(Split::Test));
  EXPECT_EQ(subset.key, "0123456789abcdef+train0.1s1234");
  EXPECT_EQ(subset.class_names, dataset.class_names);
  EXPECT_EQ(subset.image_size, dataset.image_size);
}

TEST(ApplySubset, SamplesCarryTheirPixelsLabelsAndIds) {
  const Dataset dataset = makeSplitDataset();
  const Dataset subset = applySubset(dataset, 0.2, false, 0.2, 5);
  ASSERT_EQ(subset.pixels.size(), subset.size() * 16);
  ASSERT_EQ(subset.sample_ids.size(), subset.size());
  std::size_t previous = 0;
  for (std::size_t i = 0; i < subset.size(); ++i) {
    const std::size_t source = std::stoul(subset.sample_ids[i].substr(6));  // "sample<n>"
    if (i > 0) EXPECT_GT(source, previous);                                 // original order kept
    previous = source;
    EXPECT_EQ(subset.labels[i], dataset.labels[source]);
    EXPECT_EQ(subset.splits[i], dataset.splits[source]);
    EXPECT_EQ(subset.pixels[i * 16 + 15], static_cast<std::uint8_t>(source % 251));
  }
}

TEST(ApplySubset, DeterministicInTheSeed) {
  const Dataset dataset = makeSplitDataset();
  const Dataset a = applySubset(dataset, 0.3, false, 1.0, 8);
  EXPECT_EQ(applySubset(dataset, 0.3, false, 1.0, 8).sample_ids, a.sample_ids);
  EXPECT_NE(applySubset(dataset, 0.3, false, 1.0, 9).sample_ids, a.sample_ids);
}

TEST(ApplySubset, EvalSubsetThinsValidationAndTestOnly) {
  const Dataset dataset = makeSplitDataset();
  const Dataset subset = applySubset(dataset, 1.0, false, 0.5, 3);
  EXPECT_EQ(subset.classCounts(Split::Train), dataset.classCounts(Split::Train));
  for (Split split : {Split::Val, Split::Test}) {
    EXPECT_EQ(subset.classCounts(split), expectedQuotas(0.5, dataset.classCounts(split)))
        << splitName(split);
  }
  EXPECT_EQ(subset.key, "0123456789abcdef+eval0.5s3");
  EXPECT_EQ(applySubset(dataset, 0.5, false, 0.5, 3).key, "0123456789abcdef+train0.5s3+eval0.5s3");
}

TEST(ApplySubset, CountIsTrainingImagesWithinRounding) {
  const Dataset dataset = makeSplitDataset();
  const std::size_t trainSize = dataset.indicesOf(Split::Train).size();
  const Dataset subset = applySubset(dataset, 500, true, 1.0, 1234);
  const double fraction = 500.0 / static_cast<double>(trainSize);
  EXPECT_EQ(subset.classCounts(Split::Train),
            expectedQuotas(fraction, dataset.classCounts(Split::Train)));
  EXPECT_EQ(subset.classCounts(Split::Test), dataset.classCounts(Split::Test));
  // Per-class rounding moves the total by at most half an image per class.
  const auto trained = static_cast<double>(subset.indicesOf(Split::Train).size());
  EXPECT_LE(std::abs(trained - 500.0), 3.5);
  EXPECT_EQ(subset.key, "0123456789abcdef+train500s1234");
}

TEST(ApplySubset, RejectsImpossibleSubsets) {
  const Dataset dataset = makeSplitDataset();
  const double trainSize = static_cast<double>(dataset.indicesOf(Split::Train).size());
  EXPECT_THROW(applySubset(dataset, trainSize + 1, true, 1.0, 1), DataError);
  EXPECT_THROW(applySubset(dataset, 12.5, true, 1.0, 1), DataError);
  EXPECT_THROW(applySubset(dataset, 0.0, false, 1.0, 1), DataError);
  EXPECT_THROW(applySubset(dataset, 1.5, false, 1.0, 1), DataError);
  EXPECT_THROW(applySubset(dataset, 1.0, false, 0.0, 1), DataError);
}

TEST(ApplySubset, WholeDatasetIsReturnedUnchanged) {
  const Dataset dataset = makeSplitDataset();
  const Dataset same = applySubset(dataset, 1.0, false, 1.0, 1);
  EXPECT_EQ(same.key, dataset.key);
  EXPECT_EQ(same.sample_ids, dataset.sample_ids);
  EXPECT_EQ(same.pixels, dataset.pixels);
}

}  // namespace
}  // namespace ferlab::data
