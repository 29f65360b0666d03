#pragma once
// Statistics for comparing FER runs on the same test samples: percentile-bootstrap confidence
// intervals of accuracy and macro-F1, the paired bootstrap of an accuracy difference, the
// exact McNemar test and Holm's step-down correction for many comparisons. Pure C++ (no
// LibTorch), deterministic under the seed: the same inputs and seed give the same interval on
// every platform that implements std::mt19937_64 (specified bit for bit by the standard); the
// resampled indices are drawn by our own unbiased bounded draw, not by
// std::uniform_int_distribution, whose output is implementation-defined.
//
// Labels and predictions are class indices (std::int64_t, one per sample). Every function
// throws std::invalid_argument when the label and prediction vectors differ in size, when
// they are empty (where an estimate needs samples), when `resamples` < 1000, or when `level`
// is not in (0, 1).

#include <cstdint>
#include <vector>

namespace ferlab::report {

/// A point estimate and a two-sided confidence interval. Accuracy-like values are fractions
/// in [0, 1]; differences are in [-1, 1].
struct Interval {
  double estimate = 0, low = 0, high = 0;
};

/// Percentile bootstrap (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13)
/// of accuracy: `resamples` (>= 1000) resamples of the n samples with replacement, drawn from
/// std::mt19937_64 seeded with `seed`; low/high are the (1-level)/2 and (1+level)/2 quantiles
/// of the resampled accuracies (linear interpolation, numpy's default "linear" method).
/// estimate is the accuracy of the full sample.
Interval bootstrapAccuracy(const std::vector<std::int64_t>& labels,
                           const std::vector<std::int64_t>& predicted, int resamples = 2000,
                           std::uint64_t seed = 0, double level = 0.95);

/// Percentile bootstrap of macro-F1 (as bootstrapAccuracy). Macro-F1 follows scikit-learn's
/// f1_score(average="macro") without `labels`, like train::computeMetrics and so the stored
/// test_macro_f1: the unweighted mean of per-class F1 over the classes that occur in the
/// labels or the predictions (of that resample). Throws std::invalid_argument for
/// num_classes < 1 or a label/prediction outside [0, num_classes).
Interval bootstrapMacroF1(const std::vector<std::int64_t>& labels,
                          const std::vector<std::int64_t>& predicted, int num_classes,
                          int resamples = 2000, std::uint64_t seed = 0, double level = 0.95);

/// acc(a) - acc(b) on the same samples, resampling sample indices jointly (paired
/// bootstrap, Efron & Tibshirani 1993; Koehn 2004 for its use in comparing systems), so the
/// interval accounts for the correlation between the two runs' errors.
Interval pairedBootstrapAccuracyDifference(const std::vector<std::int64_t>& labels,
                                           const std::vector<std::int64_t>& predicted_a,
                                           const std::vector<std::int64_t>& predicted_b,
                                           int resamples = 2000, std::uint64_t seed = 0,
                                           double level = 0.95);

struct McNemarResult {
  std::int64_t a_only = 0, b_only = 0;  ///< discordant pairs
  double p_value = 1;
};

/// Exact (binomial) two-sided McNemar test on the discordant pairs (McNemar 1947; exact form
/// as statsmodels mcnemar(exact=True)): a_only = a right & b wrong, b_only = a wrong & b right,
/// p = min(1, 2 * P[Binomial(a_only + b_only, 1/2) <= min(a_only, b_only)]); p = 1 without
/// discordant pairs. Throws std::invalid_argument on size mismatch.
McNemarResult mcnemarExact(const std::vector<std::int64_t>& labels,
                           const std::vector<std::int64_t>& predicted_a,
                           const std::vector<std::int64_t>& predicted_b);

/// Holm (1979) step-down adjusted p-values, same order as the input, monotone, capped at 1
/// (as statsmodels multipletests(method="holm")). Throws std::invalid_argument for a p-value
/// outside [0, 1] or NaN. An empty input gives an empty output.
std::vector<double> holmAdjust(const std::vector<double>& p_values);

/// Fraction of samples with predicted == label. Throws std::invalid_argument on size mismatch
/// or empty input.
double accuracy(const std::vector<std::int64_t>& labels,
                const std::vector<std::int64_t>& predicted);

/// Macro-F1 as in bootstrapMacroF1 (classes present in labels or predictions).
double macroF1(const std::vector<std::int64_t>& labels, const std::vector<std::int64_t>& predicted,
               int num_classes);

struct MeanStd {
  double mean = 0, std = 0;  ///< std: sample standard deviation (n - 1), 0 when n < 2
  int n = 0;
};

/// Mean and sample standard deviation (e.g. of test accuracy over seeds). Empty input gives
/// {0, 0, 0}.
MeanStd meanStd(const std::vector<double>& values);

}  // namespace ferlab::report
