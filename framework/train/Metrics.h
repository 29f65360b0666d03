#pragma once
// Classification metrics computed from integer labels and predictions (CPU, no LibTorch):
// accuracy, confusion matrix, per-class precision / recall / F1 and macro-F1.
// Definitions follow scikit-learn (`precision_recall_fscore_support`, `f1_score(average=
// "macro")`): a class's precision is 0 when it is never predicted, its recall 0 when it never
// occurs, and macro-F1 is the unweighted mean of F1 over the classes that occur in the labels
// or the predictions.

#include <cstdint>
#include <vector>

namespace ferlab::train {

struct ClassificationMetrics {
  int num_classes = 0;
  std::int64_t count = 0;
  double accuracy = 0.0;                      ///< fraction in [0, 1]
  double macro_f1 = 0.0;                      ///< fraction in [0, 1]
  std::vector<double> precision, recall, f1;  ///< per class
  std::vector<std::int64_t> support;          ///< true samples per class
  /// Row-major num_classes x num_classes; row = true class, column = predicted class.
  std::vector<std::int64_t> confusion;
};

/// labels and predicted: equal length, values in [0, num_classes). Throws
/// std::invalid_argument otherwise (a programming error, not user input).
ClassificationMetrics computeMetrics(const std::vector<std::int64_t>& labels,
                                     const std::vector<std::int64_t>& predicted, int num_classes);

}  // namespace ferlab::train
