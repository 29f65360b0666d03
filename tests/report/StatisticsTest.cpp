#include "framework/report/Statistics.h"

#include <cmath>
#include <cstdint>
#include <iterator>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "tests/report/StatisticsReference.h"

namespace ferlab::report {
namespace {

namespace ref = reference;
using Labels = std::vector<std::int64_t>;

// The synthetic data of statistics_reference.py (same formulas): 600 samples, 7 classes;
// run A right on 62%, run B on 58%, wrong predictions spread over the other classes.
std::int64_t syntheticLabel(int i) {
  return (i * 3) % ref::kClasses;
}

Labels syntheticLabels() {
  Labels labels(ref::kSamples);
  for (int i = 0; i < ref::kSamples; ++i) labels[i] = syntheticLabel(i);
  return labels;
}

Labels syntheticPrediction(int multiplier, int offset, int percent_right) {
  Labels predicted(ref::kSamples);
  for (int i = 0; i < ref::kSamples; ++i) {
    predicted[i] = (i * multiplier + offset) % 100 < percent_right
                       ? syntheticLabel(i)
                       : (syntheticLabel(i) + 1 + i % 3) % ref::kClasses;
  }
  return predicted;
}

const Labels kLabels = syntheticLabels();
const Labels kPredA = syntheticPrediction(37, 11, 62);
const Labels kPredB = syntheticPrediction(53, 7, 58);

// Normal-approximation (Wald) interval of a proportion, the analytic counterpart of the
// percentile bootstrap of an accuracy.
Interval waldInterval(double p, int n) {
  const double half = 1.959963984540054 * std::sqrt(p * (1 - p) / n);
  return {p, p - half, p + half};
}

TEST(StatisticsTest, AccuracyAndMacroF1MatchTheReference) {
  EXPECT_DOUBLE_EQ(accuracy(kLabels, kPredA), ref::kAccuracyA);
  EXPECT_DOUBLE_EQ(accuracy(kLabels, kPredB), ref::kAccuracyB);
  EXPECT_NEAR(macroF1(kLabels, kPredA, ref::kClasses), ref::kMacroF1A, 1e-12);
}

TEST(StatisticsTest, AccuracyAndMacroF1MatchScikitLearnWithAbsentClasses) {
  // Class 3 only predicted, class 5 never predicted, classes 4 and 6 in neither:
  // sklearn f1_score(average="macro", zero_division=0) averages over {0, 1, 2, 3, 5}.
  const Labels labels(std::begin(ref::kSparseLabels), std::end(ref::kSparseLabels));
  const Labels predicted(std::begin(ref::kSparsePredicted), std::end(ref::kSparsePredicted));
  EXPECT_DOUBLE_EQ(accuracy(labels, predicted), ref::kReportSparse.accuracy);
  EXPECT_NEAR(macroF1(labels, predicted, ref::kClasses), ref::kReportSparse.macro_f1, 1e-12);
  EXPECT_DOUBLE_EQ(accuracy(kLabels, kPredA), ref::kReportA.accuracy);
  EXPECT_NEAR(macroF1(kLabels, kPredA, ref::kClasses), ref::kReportA.macro_f1, 1e-12);
}

TEST(StatisticsTest, MacroF1SkipsClassesAbsentFromLabelsAndPredictions) {
  // Classes 0 and 1 only (of 5): F1(0) = 2*1/(2+1) = 2/3, F1(1) = 2*1/(1+2) = 2/3.
  EXPECT_NEAR(macroF1({0, 0, 1}, {0, 1, 1}, 5), 2.0 / 3.0, 1e-12);
  // A class only predicted counts with F1 0: F1(0) = 2*1/(2+1), F1(2) = 0.
  EXPECT_NEAR(macroF1({0, 0}, {0, 2}, 3), (2.0 / 3.0 + 0.0) / 2.0, 1e-12);
  EXPECT_THROW(macroF1({0, 3}, {0, 1}, 3), std::invalid_argument);
}

TEST(StatisticsTest, BootstrapAccuracyAgreesWithScipyAndTheNormalInterval) {
  const Interval ci = bootstrapAccuracy(kLabels, kPredA, 10000, 7);
  EXPECT_DOUBLE_EQ(ci.estimate, ref::kAccuracyA);
  // Monte Carlo error of the 2.5% / 97.5% quantiles with 10000 resamples is about 0.002.
  EXPECT_NEAR(ci.low, ref::kAccuracyCi[0], 0.006);
  EXPECT_NEAR(ci.high, ref::kAccuracyCi[1], 0.006);
  const Interval wald = waldInterval(ref::kAccuracyA, ref::kSamples);
  EXPECT_NEAR(ci.low, wald.low, 0.008);
  EXPECT_NEAR(ci.high, wald.high, 0.008);
  EXPECT_LT(ci.low, ci.estimate);
  EXPECT_GT(ci.high, ci.estimate);
}

TEST(StatisticsTest, BootstrapMacroF1AgreesWithScipy) {
  const Interval ci = bootstrapMacroF1(kLabels, kPredA, ref::kClasses, 4000, 3);
  EXPECT_NEAR(ci.estimate, ref::kMacroF1A, 1e-12);
  EXPECT_NEAR(ci.low, ref::kMacroF1Ci[0], 0.008);
  EXPECT_NEAR(ci.high, ref::kMacroF1Ci[1], 0.008);
}

TEST(StatisticsTest, PairedDifferenceAgreesWithScipy) {
  const Interval ci = pairedBootstrapAccuracyDifference(kLabels, kPredA, kPredB, 10000, 11);
  EXPECT_NEAR(ci.estimate, ref::kAccuracyA - ref::kAccuracyB, 1e-12);
  EXPECT_NEAR(ci.low, ref::kDifferenceCi[0], 0.006);
  EXPECT_NEAR(ci.high, ref::kDifferenceCi[1], 0.006);
  // A run compared with itself: every resample differs by exactly 0.
  const Interval same = pairedBootstrapAccuracyDifference(kLabels, kPredA, kPredA, 1000, 1);
  EXPECT_EQ(same.estimate, 0.0);
  EXPECT_EQ(same.low, 0.0);
  EXPECT_EQ(same.high, 0.0);
}

TEST(StatisticsTest, BootstrapIsDeterministicUnderTheSeed) {
  const Interval first = bootstrapAccuracy(kLabels, kPredA, 1000, 42);
  const Interval second = bootstrapAccuracy(kLabels, kPredA, 1000, 42);
  EXPECT_EQ(first.low, second.low);
  EXPECT_EQ(first.high, second.high);
  const Interval f1_first = bootstrapMacroF1(kLabels, kPredA, ref::kClasses, 1000, 42);
  const Interval f1_second = bootstrapMacroF1(kLabels, kPredA, ref::kClasses, 1000, 42);
  EXPECT_EQ(f1_first.low, f1_second.low);
  EXPECT_EQ(f1_first.high, f1_second.high);
  // Another seed draws other resamples (the quantiles are multiples of 1/600, so compare the
  // pair of bounds rather than one of them).
  const Interval other = bootstrapAccuracy(kLabels, kPredA, 1000, 43);
  EXPECT_TRUE(other.low != first.low || other.high != first.high);
}

TEST(StatisticsTest, BootstrapCoversTheTrueAccuracyAboutNinetyFivePercentOfTheTime) {
  // 200 simulated test sets of 300 samples from a model with true accuracy 0.7.
  constexpr int kTrials = 200, kSize = 300;
  constexpr double kTrue = 0.7;
  std::mt19937_64 engine(2024);
  std::bernoulli_distribution right(kTrue);
  int covered = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    Labels labels(kSize, 0), predicted(kSize);
    for (auto& value : predicted) value = right(engine) ? 0 : 1;
    const Interval ci = bootstrapAccuracy(labels, predicted, 1000, trial);
    EXPECT_LE(ci.low, ci.estimate);
    EXPECT_GE(ci.high, ci.estimate);
    covered += ci.low <= kTrue && kTrue <= ci.high;
  }
  // Binomial(200, 0.95) lies in [180, 198] with probability > 0.999; the percentile interval
  // of a proportion undercovers slightly, so allow down to 0.9.
  EXPECT_GE(covered, 180);
  EXPECT_LE(covered, 199);
}

TEST(StatisticsTest, BootstrapRejectsTooFewResamplesAndBadInput) {
  EXPECT_THROW(bootstrapAccuracy(kLabels, kPredA, 999), std::invalid_argument);
  EXPECT_THROW(bootstrapMacroF1(kLabels, kPredA, ref::kClasses, 500), std::invalid_argument);
  EXPECT_THROW(pairedBootstrapAccuracyDifference(kLabels, kPredA, kPredB, 10),
               std::invalid_argument);
  EXPECT_THROW(bootstrapAccuracy(kLabels, kPredA, 1000, 0, 1.0), std::invalid_argument);
  EXPECT_THROW(bootstrapAccuracy({0, 1}, {0}, 1000), std::invalid_argument);
  EXPECT_THROW(bootstrapAccuracy({}, {}, 1000), std::invalid_argument);
  EXPECT_THROW(accuracy({0, 1}, {0, 1, 2}), std::invalid_argument);
  EXPECT_THROW(pairedBootstrapAccuracyDifference(kLabels, kPredA, {0, 1}, 1000),
               std::invalid_argument);
  EXPECT_THROW(mcnemarExact(kLabels, kPredA, {0}), std::invalid_argument);
}

// Labels and two prediction vectors with the given discordant counts plus concordant pairs.
struct PairedCase {
  Labels labels, a, b;
};
PairedCase withDiscordant(std::int64_t a_only, std::int64_t b_only) {
  PairedCase data;
  auto add = [&](bool a_right, bool b_right) {
    data.labels.push_back(2);
    data.a.push_back(a_right ? 2 : 4);
    data.b.push_back(b_right ? 2 : 5);
  };
  for (std::int64_t i = 0; i < a_only; ++i) add(true, false);
  for (std::int64_t i = 0; i < b_only; ++i) add(false, true);
  for (int i = 0; i < 9; ++i) add(true, true);  // concordant pairs do not enter the test
  for (int i = 0; i < 4; ++i) add(false, false);
  return data;
}

TEST(StatisticsTest, McNemarExactMatchesScipyBinomtest) {
  for (const auto& expected : ref::kMcNemar) {
    const PairedCase data = withDiscordant(expected.a_only, expected.b_only);
    const McNemarResult result = mcnemarExact(data.labels, data.a, data.b);
    EXPECT_EQ(result.a_only, expected.a_only);
    EXPECT_EQ(result.b_only, expected.b_only);
    EXPECT_NEAR(result.p_value, expected.p_value, 1e-10 * expected.p_value)
        << expected.a_only << " vs " << expected.b_only;
  }
  // The first reference case is the synthetic pair of runs itself.
  const McNemarResult synthetic = mcnemarExact(kLabels, kPredA, kPredB);
  EXPECT_EQ(synthetic.a_only, ref::kMcNemar[0].a_only);
  EXPECT_EQ(synthetic.b_only, ref::kMcNemar[0].b_only);
}

TEST(StatisticsTest, McNemarOnIdenticalPredictionsGivesOne) {
  const McNemarResult result = mcnemarExact(kLabels, kPredA, kPredA);
  EXPECT_EQ(result.a_only, 0);
  EXPECT_EQ(result.b_only, 0);
  EXPECT_EQ(result.p_value, 1.0);
  // Symmetric in a and b.
  const McNemarResult ab = mcnemarExact(kLabels, kPredA, kPredB);
  const McNemarResult ba = mcnemarExact(kLabels, kPredB, kPredA);
  EXPECT_EQ(ab.a_only, ba.b_only);
  EXPECT_DOUBLE_EQ(ab.p_value, ba.p_value);
}

TEST(StatisticsTest, HolmMatchesHandWorkedCases) {
  // Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max(0.06, 0.04).
  const auto adjusted = holmAdjust({0.01, 0.04, 0.03, 0.005});
  const std::vector<double> expected = {0.03, 0.06, 0.06, 0.02};
  ASSERT_EQ(adjusted.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(adjusted[i], expected[i], 1e-15);
  // Capped at 1 and monotone: 0.5*2 = 1, then max(1, 0.6) = 1.
  EXPECT_EQ(holmAdjust({0.6, 0.5}), (std::vector<double>{1.0, 1.0}));
  // statsmodels multipletests([0.01, 0.02, 0.03, 0.04, 0.05], method="holm") by hand:
  // 0.05, 0.08, 0.09, 0.09 (max(0.08, 0.09)), 0.09 (max(0.09, 0.05)).
  const auto five = holmAdjust({0.01, 0.02, 0.03, 0.04, 0.05});
  const std::vector<double> five_expected = {0.05, 0.08, 0.09, 0.09, 0.09};
  for (std::size_t i = 0; i < five.size(); ++i) EXPECT_NEAR(five[i], five_expected[i], 1e-15);
  // Ties keep their order and get the same value; one p-value is unchanged.
  EXPECT_EQ(holmAdjust({0.02, 0.02}), (std::vector<double>{0.04, 0.04}));
  EXPECT_EQ(holmAdjust({0.3}), (std::vector<double>{0.3}));
  EXPECT_TRUE(holmAdjust({}).empty());
  EXPECT_THROW(holmAdjust({0.1, 1.5}), std::invalid_argument);
  EXPECT_THROW(holmAdjust({std::nan("")}), std::invalid_argument);
}

TEST(StatisticsTest, MeanStdUsesTheSampleStandardDeviation) {
  const MeanStd three = meanStd({0.60, 0.62, 0.64});
  EXPECT_EQ(three.n, 3);
  EXPECT_NEAR(three.mean, 0.62, 1e-15);
  EXPECT_NEAR(three.std, 0.02, 1e-15);  // sqrt((0.0004 + 0 + 0.0004) / 2)
  const MeanStd one = meanStd({0.5});
  EXPECT_EQ(one.n, 1);
  EXPECT_EQ(one.mean, 0.5);
  EXPECT_EQ(one.std, 0.0);
  EXPECT_EQ(meanStd({}).n, 0);
}

}  // namespace
}  // namespace ferlab::report
