#include "framework/data/Splits.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::data {
namespace {

// Fisher-Yates on raw mt19937_64 output. std::shuffle and std::uniform_int_distribution are
// implementation-defined, so with them libstdc++ and libc++ would carve different splits
// from one seed; mt19937_64's output sequence is fixed by the standard. The modulo bias is
// below 1e-13 for any dataset that fits in memory.
void shuffleIndices(std::vector<std::size_t>& indices, std::mt19937_64& rng) {
  for (std::size_t i = indices.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(rng() % i);
    std::swap(indices[i - 1], indices[j]);
  }
}

// round(fraction * n), but at least one sample of a class that is present, so a rare class
// (disgust is 1.5% of FER2013) never vanishes from a small split.
std::size_t quota(double fraction, std::size_t n) {
  if (n == 0 || fraction <= 0.0) return 0;
  const auto rounded = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
  return std::clamp<std::size_t>(rounded, 1, n);
}

// `indices` grouped by label, classes in ascending label order, each group ascending as
// given: the fixed starting point that makes the seeded shuffles reproducible.
std::map<std::int64_t, std::vector<std::size_t>> groupByLabel(
    const std::vector<std::size_t>& indices, const std::vector<std::int64_t>& labels) {
  std::map<std::int64_t, std::vector<std::size_t>> groups;
  for (std::size_t index : indices) {
    if (index >= labels.size()) {
      throw DataError(fmt::format("sample index {} outside the {} labels", index, labels.size()));
    }
    groups[labels[index]].push_back(index);
  }
  return groups;
}

void checkCarveFractions(double valFraction, double testFraction) {
  const auto valid = [](double fraction) { return fraction >= 0.0 && fraction < 1.0; };
  if (!valid(valFraction) || !valid(testFraction) || valFraction + testFraction >= 1.0) {
    throw DataError(fmt::format(
        "data.val_fraction = {}, data.test_fraction = {}: each must be in [0, 1) and their "
        "sum below 1",
        valFraction, testFraction));
  }
}

double subsetFraction(const Dataset& dataset, double subset, bool isCount) {
  if (!isCount) {
    if (!(subset > 0.0 && subset <= 1.0)) {
      throw DataError(fmt::format("data.subset = {}: a fraction must be in (0, 1]", subset));
    }
    return subset;
  }
  const std::size_t trainSize = dataset.indicesOf(Split::Train).size();
  if (!(subset >= 1.0) || subset != std::floor(subset)) {
    throw DataError(fmt::format("data.subset = {}: a count must be a whole number >= 1", subset));
  }
  if (subset > static_cast<double>(trainSize)) {
    throw DataError(
        fmt::format("data.subset = {} exceeds the {} training images", subset, trainSize));
  }
  return subset / static_cast<double>(trainSize);
}

}  // namespace

void carveMissingSplits(Dataset& dataset, const SplitCoverage& coverage, double val_fraction,
                        double test_fraction, std::int64_t seed) {
  const double valFraction = coverage.has_val ? 0.0 : val_fraction;
  const double testFraction = coverage.has_test ? 0.0 : test_fraction;
  if (valFraction == 0.0 && testFraction == 0.0) return;
  checkCarveFractions(valFraction, testFraction);

  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  for (auto& [label, members] : groupByLabel(dataset.indicesOf(Split::Train), dataset.labels)) {
    (void)label;
    shuffleIndices(members, rng);
    const std::size_t n = members.size();
    std::size_t testCount = quota(testFraction, n);
    std::size_t valCount = quota(valFraction, n);
    // Training keeps at least one sample of every class it has: a class with no training
    // image cannot be learned, and its held-out samples would only measure that.
    while (valCount + testCount > 0 && valCount + testCount >= n) {
      if (valCount > 0) {
        --valCount;
      } else {
        --testCount;
      }
    }
    for (std::size_t i = 0; i < testCount; ++i) dataset.splits[members[i]] = Split::Test;
    for (std::size_t i = testCount; i < testCount + valCount; ++i) {
      dataset.splits[members[i]] = Split::Val;
    }
  }
}

std::vector<std::size_t> stratifiedSample(const std::vector<std::size_t>& indices,
                                          const std::vector<std::int64_t>& labels, double fraction,
                                          std::int64_t seed) {
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    throw DataError(fmt::format("sample fraction {} outside (0, 1]", fraction));
  }
  if (fraction == 1.0) return indices;
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  std::vector<std::size_t> chosen;
  for (auto& [label, members] : groupByLabel(indices, labels)) {
    (void)label;
    shuffleIndices(members, rng);
    const std::size_t take = quota(fraction, members.size());
    chosen.insert(chosen.end(), members.begin(), members.begin() + static_cast<long>(take));
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

Dataset applySubset(const Dataset& dataset, double subset, bool is_count, double eval_subset,
                    std::int64_t seed) {
  const std::size_t pixelsPerImage =
      static_cast<std::size_t>(dataset.image_size) * static_cast<std::size_t>(dataset.image_size);
  if (dataset.pixels.size() != dataset.size() * pixelsPerImage ||
      dataset.splits.size() != dataset.size()) {
    throw DataError(fmt::format("dataset '{}': {} labels, {} splits and {} pixels do not match",
                                dataset.key, dataset.size(), dataset.splits.size(),
                                dataset.pixels.size()));
  }
  const double train_fraction = subsetFraction(dataset, subset, is_count);
  if (!(eval_subset > 0.0 && eval_subset <= 1.0)) {
    throw DataError(
        fmt::format("data.eval_subset = {}: a fraction must be in (0, 1]", eval_subset));
  }
  if (train_fraction == 1.0 && eval_subset == 1.0) return dataset;

  std::vector<std::size_t> chosen;
  for (Split split : {Split::Train, Split::Val, Split::Test}) {
    const double fraction = split == Split::Train ? train_fraction : eval_subset;
    const std::vector<std::size_t> part =
        stratifiedSample(dataset.indicesOf(split), dataset.labels, fraction, seed);
    chosen.insert(chosen.end(), part.begin(), part.end());
  }
  // Original order, so a subset lists its samples the way the full dataset does.
  std::sort(chosen.begin(), chosen.end());

  const bool hasIds = dataset.sample_ids.size() == dataset.size();
  Dataset result;
  result.image_size = dataset.image_size;
  result.class_names = dataset.class_names;
  result.pixels.resize(chosen.size() * pixelsPerImage);
  result.labels.reserve(chosen.size());
  result.splits.reserve(chosen.size());
  result.sample_ids.reserve(chosen.size());
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const std::size_t source = chosen[i];
    std::memcpy(result.pixels.data() + i * pixelsPerImage,
                dataset.pixels.data() + source * pixelsPerImage, pixelsPerImage);
    result.labels.push_back(dataset.labels[source]);
    result.splits.push_back(dataset.splits[source]);
    if (hasIds) result.sample_ids.push_back(dataset.sample_ids[source]);
  }
  if (!dataset.key.empty()) {
    result.key = dataset.key;
    if (train_fraction != 1.0) result.key += fmt::format("+train{}s{}", subset, seed);
    if (eval_subset != 1.0) result.key += fmt::format("+eval{}s{}", eval_subset, seed);
  }
  result.alignment = dataset.alignment;  // counts of the source the subset was drawn from
  return result;
}

}  // namespace ferlab::data
