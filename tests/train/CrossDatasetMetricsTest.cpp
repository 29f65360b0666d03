// The arithmetic of cross-dataset scores on a constructed probability matrix where the
// full accuracy (argmax over every model class) and the restricted accuracy (argmax over the
// dataset's classes only) differ, worked out by hand below.

#include "framework/train/CrossDatasetEvaluation.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace ferlab::train {
namespace {

// 4 model classes; the dataset holds classes 0 and 2.
//   sample  label  probabilities          full argmax  restricted argmax
//   0       0      .5  .1  .3  .1         0  right     0  right
//   1       0      .2  .6  .1  .1         1  wrong     0  right   (1 is not in the dataset)
//   2       2      .1  .1  .2  .6         3  wrong     2  right   (3 is not in the dataset)
//   3       2      .4  .1  .3  .2         0  wrong     0  wrong
//   4       2      .1  .1  .7  .1         2  right     2  right
// accuracy 2/5, restricted accuracy 4/5. Unrestricted per class: class 0 predicted for
// samples 0 and 3 (1 right): precision 1/2, recall 1/2 (support 2), F1 1/2; class 2 predicted
// for sample 4 only: precision 1, recall 1/3 (support 3), F1 2 * 1/3 / (4/3) = 1/2.
// Macro-F1 over the dataset's classes: 1/2 (classes 1 and 3 are predicted but not averaged).
const std::vector<float> kProbabilities = {.5f, .1f, .3f, .1f,  //
                                           .2f, .6f, .1f, .1f,  //
                                           .1f, .1f, .2f, .6f,  //
                                           .4f, .1f, .3f, .2f,  //
                                           .1f, .1f, .7f, .1f};
const std::vector<std::int64_t> kLabels = {0, 0, 2, 2, 2};

TEST(CrossDatasetScores, FullAndRestrictedAccuracyDiffer) {
  const CrossDatasetScores scores = scoreCrossDataset(kProbabilities, kLabels, 4, {0, 2});
  EXPECT_EQ(scores.count, 5);
  EXPECT_DOUBLE_EQ(scores.accuracy, 0.4);
  EXPECT_DOUBLE_EQ(scores.restricted_accuracy, 0.8);
  EXPECT_EQ(scores.predicted, (std::vector<std::int64_t>{0, 1, 3, 0, 2}));
  EXPECT_EQ(scores.restricted, (std::vector<std::int64_t>{0, 0, 2, 0, 2}));
}

TEST(CrossDatasetScores, PerClassMetricsAndMacroF1CoverTheDatasetClassesOnly) {
  const CrossDatasetScores scores = scoreCrossDataset(kProbabilities, kLabels, 4, {0, 2});
  EXPECT_EQ(scores.classes, (std::vector<int>{0, 2}));
  ASSERT_EQ(scores.precision.size(), 2u);
  EXPECT_DOUBLE_EQ(scores.precision[0], 0.5);
  EXPECT_DOUBLE_EQ(scores.recall[0], 0.5);
  EXPECT_DOUBLE_EQ(scores.f1[0], 0.5);
  EXPECT_DOUBLE_EQ(scores.precision[1], 1.0);
  EXPECT_DOUBLE_EQ(scores.recall[1], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(scores.f1[1], 0.5);
  EXPECT_EQ(scores.support, (std::vector<std::int64_t>{2, 3}));
  EXPECT_DOUBLE_EQ(scores.macro_f1, 0.5);
  // Rows: the dataset's classes; columns: every model class.
  EXPECT_EQ(scores.confusion, (std::vector<std::int64_t>{1, 1, 0, 0,  //
                                                         1, 0, 1, 1}));
}

TEST(CrossDatasetScores, AllClassesKeptMakesBothAccuraciesEqualAndTiesGoLow) {
  const std::vector<float> tied = {.4f, .4f, .2f,  //
                                   .1f, .3f, .3f};
  const CrossDatasetScores scores = scoreCrossDataset(tied, {0, 2}, 3, {0, 1, 2});
  EXPECT_EQ(scores.predicted, (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(scores.restricted, scores.predicted);
  EXPECT_DOUBLE_EQ(scores.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(scores.restricted_accuracy, 0.5);
}

TEST(CrossDatasetScores, InconsistentInputIsRejected) {
  EXPECT_THROW(scoreCrossDataset(kProbabilities, kLabels, 3, {0, 2}), std::invalid_argument);
  EXPECT_THROW(scoreCrossDataset(kProbabilities, kLabels, 4, {}), std::invalid_argument);
  EXPECT_THROW(scoreCrossDataset(kProbabilities, kLabels, 4, {2, 0}), std::invalid_argument);
  EXPECT_THROW(scoreCrossDataset(kProbabilities, kLabels, 4, {0, 4}), std::invalid_argument);
  EXPECT_THROW(scoreCrossDataset(kProbabilities, kLabels, 4, {0}), std::invalid_argument);
}

}  // namespace
}  // namespace ferlab::train
