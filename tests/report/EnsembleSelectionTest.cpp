// Ensemble selection as pure math (report/EnsembleSelection.h): weighted means, equal weights,
// and Caruana et al.'s greedy forward selection with replacement on constructed cases.

#include "framework/report/EnsembleSelection.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <type_traits>

#include <gtest/gtest.h>

namespace ferlab::report {
namespace {

// Selection is handed PublicTest and nothing else: its only input is a ValidationSet, and a
// ValidationSet is the candidates' matrices and the labels, with no room for another split.
static_assert(std::is_same_v<decltype(&selectEnsemble),
                             Selection (*)(const ValidationSet&, SelectionMethod, int)>);
static_assert(sizeof(ValidationSet) ==
              sizeof(std::vector<ProbabilityMatrix>) + sizeof(std::vector<std::int64_t>));

/// Two classes; sample i gets probability `right[i]` for its label.
ProbabilityMatrix twoClass(const std::vector<std::int64_t>& labels,
                           const std::vector<float>& right) {
  ProbabilityMatrix m{static_cast<std::int64_t>(labels.size()), 2, {}};
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const float p = right[i];
    m.values.push_back(labels[i] == 0 ? p : 1 - p);
    m.values.push_back(labels[i] == 0 ? 1 - p : p);
  }
  return m;
}

/// Models A and B are each right on 6 of 10 samples, confidently (0.9) where right and
/// unsure (0.4) where wrong, and right on different samples: only together are they right on
/// all 10. C is a weaker decoy (5 of 10).
ValidationSet complementary() {
  ValidationSet v;
  v.labels = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
  std::vector<float> a, b, c;
  for (int i = 0; i < 10; ++i) {
    a.push_back(i <= 5 ? 0.9f : 0.4f);
    b.push_back(i >= 4 ? 0.9f : 0.4f);
    c.push_back(i % 2 == 0 ? 0.55f : 0.45f);
  }
  v.candidates = {twoClass(v.labels, a), twoClass(v.labels, b), twoClass(v.labels, c)};
  return v;
}

TEST(EnsembleSelection, AllGivesEqualWeightsAndTheirMean) {
  const ValidationSet v = complementary();
  const Selection selection = selectEnsemble(v, SelectionMethod::All);
  ASSERT_EQ(selection.weights.size(), 3u);
  for (const double w : selection.weights) EXPECT_DOUBLE_EQ(w, 1.0 / 3);
  EXPECT_TRUE(selection.picks.empty());
  const ProbabilityMatrix mean =
      weightedMean({&v.candidates[0], &v.candidates[1], &v.candidates[2]}, selection.weights);
  for (std::size_t j = 0; j < mean.values.size(); ++j) {
    const double expected =
        (v.candidates[0].values[j] + v.candidates[1].values[j] + v.candidates[2].values[j]) / 3.0;
    EXPECT_NEAR(mean.values[j], expected, 1e-6) << j;
  }
  EXPECT_EQ(selection.score.correct, scoreOf(mean, v.labels).correct);
}

TEST(EnsembleSelection, GreedyPicksTheTwoComplementaryModels) {
  const ValidationSet v = complementary();
  for (std::size_t m = 0; m < 3; ++m) {
    EXPECT_LE(scoreOf(v.candidates[m], v.labels).correct, 6) << m;
  }
  const Selection selection = selectEnsemble(v, SelectionMethod::Greedy);
  ASSERT_EQ(selection.picks.size(), 10u);  // defaultGreedyRounds(3): at least 10
  EXPECT_EQ(selection.picks[0], 0);        // A and B tie alone: the lower index starts
  EXPECT_EQ(selection.picks[1], 1);        // then B, which completes A
  EXPECT_EQ(selection.scores[0].correct, 6);
  EXPECT_EQ(selection.scores[1].correct, 10);
  EXPECT_EQ(selection.score.correct, 10);
  EXPECT_DOUBLE_EQ(selection.score.accuracy, 1.0);
  EXPECT_GT(selection.weights[0], 0);
  EXPECT_GT(selection.weights[1], 0);
  double total = 0;
  for (const double w : selection.weights) total += w;
  EXPECT_NEAR(total, 1.0, 1e-12);
  // Weights are pick counts over the kept rounds.
  int kept_picks = 0;
  for (const int count : selection.counts) kept_picks += count;
  EXPECT_EQ(kept_picks, selection.kept);
  for (std::size_t m = 0; m < 3; ++m) {
    EXPECT_DOUBLE_EQ(selection.weights[m],
                     static_cast<double>(selection.counts[m]) / selection.kept);
  }
}

TEST(EnsembleSelection, TiesGoToTheLowerIndexAndTheShorterPrefix) {
  ValidationSet v = complementary();
  // Two identical models; 0.75 and 0.25 are exact in binary, so every prefix scores the same.
  std::vector<float> right;
  for (int i = 0; i < 10; ++i) right.push_back(i % 3 == 0 ? 0.25f : 0.75f);
  v.candidates = {twoClass(v.labels, right), twoClass(v.labels, right)};
  const Selection selection = selectEnsemble(v, SelectionMethod::Greedy, 4);
  EXPECT_EQ(selection.picks, (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(selection.kept, 1);
  EXPECT_EQ(selection.weights, (std::vector<double>{1.0, 0.0}));
}

TEST(EnsembleSelection, GreedyIsNeverWorseOnValidationThanTheBestSingleModel) {
  std::mt19937_64 random(2004);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (int trial = 0; trial < 20; ++trial) {
    ValidationSet v;
    const int n = 50, k = 4, models = 2 + trial % 5;
    for (int i = 0; i < n; ++i) v.labels.push_back(static_cast<std::int64_t>(random() % k));
    std::int64_t best_single = 0;
    for (int m = 0; m < models; ++m) {
      ProbabilityMatrix matrix{n, k, {}};
      for (int i = 0; i < n * k; ++i) matrix.values.push_back(uniform(random));
      best_single = std::max(best_single, scoreOf(matrix, v.labels).correct);
      v.candidates.push_back(std::move(matrix));
    }
    const Selection selection = selectEnsemble(v, SelectionMethod::Greedy);
    EXPECT_GE(selection.score.correct, best_single) << "trial " << trial;
    EXPECT_EQ(selection.score.correct, selection.scores[selection.kept - 1].correct);
  }
}

TEST(EnsembleSelection, ScoresArgmaxAndNegativeLogLikelihood) {
  const ProbabilityMatrix m{2, 3, {0.5f, 0.5f, 0.0f, 0.2f, 0.3f, 0.5f}};
  EXPECT_EQ(argmaxRows(m), (std::vector<std::int64_t>{0, 2}));  // a tie: the lower class
  const EnsembleScore score = scoreOf(m, {1, 2});
  EXPECT_EQ(score.correct, 1);
  EXPECT_DOUBLE_EQ(score.accuracy, 0.5);
  EXPECT_NEAR(score.nll, (-std::log(0.5) - std::log(0.5)) / 2, 1e-7);
  EXPECT_NEAR(scoreOf(m, {2, 2}).nll, (-std::log(1e-12) - std::log(0.5)) / 2, 1e-6);
}

TEST(EnsembleSelection, MalformedInputIsAProgrammingError) {
  ValidationSet empty;
  EXPECT_THROW(selectEnsemble(empty, SelectionMethod::All), std::invalid_argument);
  ValidationSet v = complementary();
  EXPECT_THROW(selectEnsemble(v, SelectionMethod::Greedy, -1), std::invalid_argument);
  v.candidates[1].values.pop_back();
  EXPECT_THROW(selectEnsemble(v, SelectionMethod::Greedy), std::invalid_argument);
  v = complementary();
  v.labels[0] = 2;
  EXPECT_THROW(selectEnsemble(v, SelectionMethod::All), std::invalid_argument);
  EXPECT_THROW(weightedMean({&v.candidates[0]}, {0.5, 0.5}), std::invalid_argument);
  EXPECT_STREQ(selectionMethodName(SelectionMethod::Greedy), "greedy");
}

}  // namespace
}  // namespace ferlab::report
