#include "framework/train/Metrics.h"

#include <stdexcept>

namespace ferlab::train {
namespace {

double safeRatio(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : 0.0;
}

}  // namespace

ClassificationMetrics computeMetrics(const std::vector<std::int64_t>& labels,
                                     const std::vector<std::int64_t>& predicted, int num_classes) {
  if (labels.size() != predicted.size()) {
    throw std::invalid_argument("computeMetrics: labels and predictions differ in length");
  }
  const auto k = static_cast<std::size_t>(num_classes);
  ClassificationMetrics metrics;
  metrics.num_classes = num_classes;
  metrics.count = static_cast<std::int64_t>(labels.size());
  metrics.confusion.assign(k * k, 0);
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto truth = labels[i], guess = predicted[i];
    if (truth < 0 || truth >= num_classes || guess < 0 || guess >= num_classes) {
      throw std::invalid_argument("computeMetrics: class index out of range");
    }
    ++metrics.confusion[static_cast<std::size_t>(truth) * k + static_cast<std::size_t>(guess)];
    correct += truth == guess;
  }
  metrics.accuracy = safeRatio(static_cast<double>(correct), static_cast<double>(labels.size()));

  metrics.precision.assign(k, 0.0);
  metrics.recall.assign(k, 0.0);
  metrics.f1.assign(k, 0.0);
  metrics.support.assign(k, 0);
  double f1_sum = 0.0;
  int classes_present = 0;
  for (std::size_t c = 0; c < k; ++c) {
    std::int64_t predicted_as_c = 0, actual_c = 0;
    for (std::size_t other = 0; other < k; ++other) {
      predicted_as_c += metrics.confusion[other * k + c];
      actual_c += metrics.confusion[c * k + other];
    }
    const double true_positives = static_cast<double>(metrics.confusion[c * k + c]);
    metrics.support[c] = actual_c;
    metrics.precision[c] = safeRatio(true_positives, static_cast<double>(predicted_as_c));
    metrics.recall[c] = safeRatio(true_positives, static_cast<double>(actual_c));
    metrics.f1[c] = safeRatio(2 * metrics.precision[c] * metrics.recall[c],
                              metrics.precision[c] + metrics.recall[c]);
    if (predicted_as_c > 0 || actual_c > 0) {
      f1_sum += metrics.f1[c];
      ++classes_present;
    }
  }
  metrics.macro_f1 = safeRatio(f1_sum, classes_present);
  return metrics;
}

}  // namespace ferlab::train
