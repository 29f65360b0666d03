#include "framework/train/Metrics.h"

#include <gtest/gtest.h>

#include <iterator>
#include <stdexcept>

#include "tests/report/StatisticsReference.h"

namespace ferlab::train {
namespace {

// Hand-worked case, 3 classes, 8 samples:
//   true 0 0 0 1 1 2 2 2
//   pred 0 0 1 1 2 2 2 0
// confusion rows (true) x cols (pred): [2 1 0; 0 1 1; 1 0 2]
// class 0: P = 2/3, R = 2/3, F1 = 2/3;  class 1: P = 1/2, R = 1/2, F1 = 1/2
// class 2: P = 2/3, R = 2/3, F1 = 2/3;  accuracy 5/8;  macro-F1 = (2/3 + 1/2 + 2/3) / 3 = 11/18
TEST(Metrics, HandWorkedThreeClassCase) {
  const auto m = computeMetrics({0, 0, 0, 1, 1, 2, 2, 2}, {0, 0, 1, 1, 2, 2, 2, 0}, 3);
  EXPECT_EQ(m.confusion, (std::vector<std::int64_t>{2, 1, 0, 0, 1, 1, 1, 0, 2}));
  EXPECT_DOUBLE_EQ(m.accuracy, 5.0 / 8.0);
  EXPECT_NEAR(m.precision[0], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.recall[1], 0.5, 1e-12);
  EXPECT_NEAR(m.f1[2], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.macro_f1, 11.0 / 18.0, 1e-12);
  EXPECT_EQ(m.support, (std::vector<std::int64_t>{3, 2, 3}));
}

// scikit-learn semantics: a class never predicted has precision 0 (zero_division=0), and a
// class absent from both labels and predictions does not enter the macro average.
TEST(Metrics, ZeroDivisionAndAbsentClasses) {
  // true 0 0 1 1, pred 0 0 0 0, 3 classes (class 2 absent everywhere).
  const auto m = computeMetrics({0, 0, 1, 1}, {0, 0, 0, 0}, 3);
  EXPECT_DOUBLE_EQ(m.precision[1], 0.0);
  EXPECT_DOUBLE_EQ(m.recall[1], 0.0);
  EXPECT_DOUBLE_EQ(m.f1[1], 0.0);
  // class 0: P = 2/4, R = 1, F1 = 2/3; macro over classes {0, 1} = 1/3.
  EXPECT_NEAR(m.f1[0], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.macro_f1, 1.0 / 3.0, 1e-12);
}

TEST(Metrics, PerfectPredictionsScoreOne) {
  const auto m = computeMetrics({0, 1, 2, 3, 4, 5, 6}, {0, 1, 2, 3, 4, 5, 6}, 7);
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(m.macro_f1, 1.0);
}

TEST(Metrics, RejectsMismatchedOrOutOfRangeInput) {
  EXPECT_THROW(computeMetrics({0, 1}, {0}, 2), std::invalid_argument);
  EXPECT_THROW(computeMetrics({0, 2}, {0, 1}, 2), std::invalid_argument);
}

namespace ref = report::reference;

// computeMetrics against scikit-learn's classification report (accuracy_score, confusion_matrix,
// precision_recall_fscore_support(zero_division=0), f1_score(average="macro")), generated into
// tests/report/StatisticsReference.h by tests/report/statistics_reference.py.
void expectReport(const std::vector<std::int64_t>& labels,
                  const std::vector<std::int64_t>& predicted, const ref::ClassReport& expected) {
  const auto m = computeMetrics(labels, predicted, ref::kClasses);
  EXPECT_DOUBLE_EQ(m.accuracy, expected.accuracy);
  EXPECT_NEAR(m.macro_f1, expected.macro_f1, 1e-12);
  for (int c = 0; c < ref::kClasses; ++c) {
    SCOPED_TRACE(c);
    EXPECT_NEAR(m.precision[c], expected.precision[c], 1e-12);
    EXPECT_NEAR(m.recall[c], expected.recall[c], 1e-12);
    EXPECT_NEAR(m.f1[c], expected.f1[c], 1e-12);
    EXPECT_EQ(m.support[c], expected.support[c]);
    for (int p = 0; p < ref::kClasses; ++p) {
      EXPECT_EQ(m.confusion[c * ref::kClasses + p], expected.confusion[c][p]) << "column " << p;
    }
  }
}

TEST(Metrics, MatchScikitLearnsClassificationReport) {
  // The synthetic run A of tests/report/StatisticsTest.cpp (same formulas as the script).
  std::vector<std::int64_t> labels(ref::kSamples), predicted(ref::kSamples);
  for (int i = 0; i < ref::kSamples; ++i) {
    labels[i] = (i * 3) % ref::kClasses;
    predicted[i] = (i * 37 + 11) % 100 < 62 ? labels[i] : (labels[i] + 1 + i % 3) % ref::kClasses;
  }
  expectReport(labels, predicted, ref::kReportA);
}

TEST(Metrics, MatchScikitLearnWithAbsentAndNeverPredictedClasses) {
  // Class 3 only predicted, class 5 never predicted (precision 0 by zero_division=0), classes 4
  // and 6 in neither (all zero, left out of the macro average).
  expectReport({std::begin(ref::kSparseLabels), std::end(ref::kSparseLabels)},
               {std::begin(ref::kSparsePredicted), std::end(ref::kSparsePredicted)},
               ref::kReportSparse);
}

}  // namespace
}  // namespace ferlab::train
