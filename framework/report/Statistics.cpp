#include "framework/report/Statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace ferlab::report {
namespace {

void checkSizes(const std::vector<std::int64_t>& labels, const std::vector<std::int64_t>& predicted,
                const char* what) {
  if (labels.size() != predicted.size()) {
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(labels.size()) +
                                " labels but " + std::to_string(predicted.size()) + " predictions");
  }
  if (labels.empty()) throw std::invalid_argument(std::string(what) + ": no samples");
}

void checkBootstrap(int resamples, double level, const char* what) {
  // Fewer resamples make the tail quantiles of a 95% interval rest on a handful of values
  // (Efron & Tibshirani 1993, section 19.3 recommend at least 1000 for percentile intervals).
  if (resamples < 1000) {
    throw std::invalid_argument(std::string(what) + ": resamples must be >= 1000, got " +
                                std::to_string(resamples));
  }
  if (!(level > 0.0 && level < 1.0)) {
    throw std::invalid_argument(std::string(what) + ": level must be in (0, 1), got " +
                                std::to_string(level));
  }
}

// Uniform integer in [0, n) by rejection (no modulo bias). std::uniform_int_distribution is
// implementation-defined, which would make the intervals differ between standard libraries.
std::size_t drawIndex(std::mt19937_64& engine, std::uint64_t n) {
  const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    const std::uint64_t r = engine();
    if (r >= threshold) return static_cast<std::size_t>(r % n);
  }
}

// numpy.quantile(values, q) with the default "linear" method; sorts `values`.
double quantile(std::vector<double>& values, double q) {
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[above] - values[below]);
}

Interval percentileInterval(double estimate, std::vector<double> statistics, double level) {
  const double tail = (1.0 - level) / 2.0;
  Interval interval;
  interval.estimate = estimate;
  interval.low = quantile(statistics, tail);
  interval.high = quantile(statistics, 1.0 - tail);
  return interval;
}

// Bootstrap of a mean of per-sample scores (1/0 correctness, or a difference of two).
Interval bootstrapMean(const std::vector<double>& scores, int resamples, std::uint64_t seed,
                       double level) {
  const std::uint64_t n = scores.size();
  const double estimate = std::accumulate(scores.begin(), scores.end(), 0.0) / n;
  std::mt19937_64 engine(seed);
  std::vector<double> statistics(resamples);
  for (double& statistic : statistics) {
    double sum = 0.0;
    for (std::uint64_t i = 0; i < n; ++i) sum += scores[drawIndex(engine, n)];
    statistic = sum / n;
  }
  return percentileInterval(estimate, std::move(statistics), level);
}

std::vector<double> correctness(const std::vector<std::int64_t>& labels,
                                const std::vector<std::int64_t>& predicted) {
  std::vector<double> correct(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) correct[i] = labels[i] == predicted[i];
  return correct;
}

void checkClasses(const std::vector<std::int64_t>& values, int num_classes, const char* what) {
  for (std::int64_t value : values) {
    if (value < 0 || value >= num_classes) {
      throw std::invalid_argument(std::string(what) + ": class " + std::to_string(value) +
                                  " outside [0, " + std::to_string(num_classes) + ")");
    }
  }
}

// Macro-F1 from per-class true positives, predicted counts and true counts; classes with
// neither samples nor predictions are left out (scikit-learn without `labels`).
double macroF1FromCounts(const std::vector<std::int64_t>& tp,
                         const std::vector<std::int64_t>& predicted_count,
                         const std::vector<std::int64_t>& true_count) {
  double sum = 0.0;
  int present = 0;
  for (std::size_t c = 0; c < tp.size(); ++c) {
    const std::int64_t denominator = predicted_count[c] + true_count[c];  // 2tp + fp + fn
    if (denominator == 0) continue;
    sum += 2.0 * static_cast<double>(tp[c]) / static_cast<double>(denominator);
    ++present;
  }
  return present == 0 ? 0.0 : sum / present;
}

// log P[Binomial(n, 1/2) = k].
double logBinomialHalf(std::int64_t n, std::int64_t k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) -
         static_cast<double>(n) * std::log(2.0);
}

}  // namespace

double accuracy(const std::vector<std::int64_t>& labels,
                const std::vector<std::int64_t>& predicted) {
  checkSizes(labels, predicted, "accuracy");
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += labels[i] == predicted[i];
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

double macroF1(const std::vector<std::int64_t>& labels, const std::vector<std::int64_t>& predicted,
               int num_classes) {
  checkSizes(labels, predicted, "macroF1");
  if (num_classes < 1) throw std::invalid_argument("macroF1: num_classes must be >= 1");
  checkClasses(labels, num_classes, "macroF1");
  checkClasses(predicted, num_classes, "macroF1");
  std::vector<std::int64_t> tp(num_classes), predicted_count(num_classes), true_count(num_classes);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    ++true_count[labels[i]];
    ++predicted_count[predicted[i]];
    tp[labels[i]] += labels[i] == predicted[i];
  }
  return macroF1FromCounts(tp, predicted_count, true_count);
}

Interval bootstrapAccuracy(const std::vector<std::int64_t>& labels,
                           const std::vector<std::int64_t>& predicted, int resamples,
                           std::uint64_t seed, double level) {
  checkSizes(labels, predicted, "bootstrapAccuracy");
  checkBootstrap(resamples, level, "bootstrapAccuracy");
  return bootstrapMean(correctness(labels, predicted), resamples, seed, level);
}

Interval bootstrapMacroF1(const std::vector<std::int64_t>& labels,
                          const std::vector<std::int64_t>& predicted, int num_classes,
                          int resamples, std::uint64_t seed, double level) {
  checkBootstrap(resamples, level, "bootstrapMacroF1");
  const double estimate = macroF1(labels, predicted, num_classes);  // validates the inputs
  const std::uint64_t n = labels.size();
  std::mt19937_64 engine(seed);
  std::vector<double> statistics(resamples);
  std::vector<std::int64_t> tp(num_classes), predicted_count(num_classes), true_count(num_classes);
  for (double& statistic : statistics) {
    std::fill(tp.begin(), tp.end(), 0);
    std::fill(predicted_count.begin(), predicted_count.end(), 0);
    std::fill(true_count.begin(), true_count.end(), 0);
    for (std::uint64_t draw = 0; draw < n; ++draw) {
      const std::size_t i = drawIndex(engine, n);
      ++true_count[labels[i]];
      ++predicted_count[predicted[i]];
      tp[labels[i]] += labels[i] == predicted[i];
    }
    statistic = macroF1FromCounts(tp, predicted_count, true_count);
  }
  return percentileInterval(estimate, std::move(statistics), level);
}

Interval pairedBootstrapAccuracyDifference(const std::vector<std::int64_t>& labels,
                                           const std::vector<std::int64_t>& predicted_a,
                                           const std::vector<std::int64_t>& predicted_b,
                                           int resamples, std::uint64_t seed, double level) {
  checkSizes(labels, predicted_a, "pairedBootstrapAccuracyDifference");
  checkSizes(labels, predicted_b, "pairedBootstrapAccuracyDifference");
  checkBootstrap(resamples, level, "pairedBootstrapAccuracyDifference");
  // Resampling the per-sample difference keeps each sample's pair of outcomes together.
  std::vector<double> difference(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    difference[i] = static_cast<double>(labels[i] == predicted_a[i]) -
                    static_cast<double>(labels[i] == predicted_b[i]);
  }
  return bootstrapMean(difference, resamples, seed, level);
}

McNemarResult mcnemarExact(const std::vector<std::int64_t>& labels,
                           const std::vector<std::int64_t>& predicted_a,
                           const std::vector<std::int64_t>& predicted_b) {
  checkSizes(labels, predicted_a, "mcnemarExact");
  checkSizes(labels, predicted_b, "mcnemarExact");
  McNemarResult result;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const bool a_right = labels[i] == predicted_a[i], b_right = labels[i] == predicted_b[i];
    result.a_only += a_right && !b_right;
    result.b_only += !a_right && b_right;
  }
  const std::int64_t n = result.a_only + result.b_only;
  if (n == 0) return result;  // p = 1: no evidence either way
  const std::int64_t smaller = std::min(result.a_only, result.b_only);
  // Sum the lower tail in log space: 2^-n underflows a double for n > 1074.
  const double largest = logBinomialHalf(n, smaller);  // the pmf increases up to n/2
  double sum = 0.0;
  for (std::int64_t k = 0; k <= smaller; ++k) sum += std::exp(logBinomialHalf(n, k) - largest);
  result.p_value = std::min(1.0, 2.0 * std::exp(largest + std::log(sum)));
  return result;
}

std::vector<double> holmAdjust(const std::vector<double>& p_values) {
  for (double p : p_values) {
    if (!(p >= 0.0 && p <= 1.0)) {
      throw std::invalid_argument("holmAdjust: p-value " + std::to_string(p) + " outside [0, 1]");
    }
  }
  const std::size_t m = p_values.size();
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
  std::vector<double> adjusted(m);
  double running_max = 0.0;  // step-down: an adjusted p never falls below a smaller one's
  for (std::size_t rank = 0; rank < m; ++rank) {
    const double scaled = std::min(1.0, static_cast<double>(m - rank) * p_values[order[rank]]);
    running_max = std::max(running_max, scaled);
    adjusted[order[rank]] = running_max;
  }
  return adjusted;
}

MeanStd meanStd(const std::vector<double>& values) {
  MeanStd result;
  result.n = static_cast<int>(values.size());
  if (values.empty()) return result;
  result.mean = std::accumulate(values.begin(), values.end(), 0.0) / result.n;
  if (result.n < 2) return result;
  double squares = 0.0;
  for (double value : values) squares += (value - result.mean) * (value - result.mean);
  result.std = std::sqrt(squares / (result.n - 1));
  return result;
}

}  // namespace ferlab::report
