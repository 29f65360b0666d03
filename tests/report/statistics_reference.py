"""Reference values for tests/report/StatisticsTest.cpp (and tests/train/MetricsTest.cpp),
computed with SciPy and scikit-learn from the project's pinned environment (scripts/python.lock,
installed into .venv/ by scripts/setup.sh).

Run once and commit the output (the tests need no Python):

    .venv/bin/python tests/report/statistics_reference.py > tests/report/StatisticsReference.h

Sources:
- scikit-learn's metrics for the point values: accuracy_score, confusion_matrix(labels=all
  classes; rows true, columns predicted), precision_recall_fscore_support(labels=all classes,
  zero_division=0) per class, and f1_score(average="macro", zero_division=0) without `labels`
  (the classes present in the labels or the predictions), which is FERLab's macro-F1.
- scipy.stats.binomtest: the exact two-sided binomial test; McNemar's exact test is the
  binomial test of the discordant pairs against 1/2, as statsmodels mcnemar(exact=True).
- scipy.stats.bootstrap(method="percentile") with 20000 resamples; the macro-F1 statistic is
  scikit-learn's f1_score. A percentile bootstrap is a Monte Carlo estimate, so the C++
  intervals (another random stream) are compared within a tolerance, not bit for bit.

The synthetic predictions are defined by the same formulas as in StatisticsTest.cpp
(syntheticLabels / syntheticPrediction); the small "sparse" case, printed as arrays, has a class
only in the labels, one only in the predictions and two in neither.
"""
import warnings

import numpy as np
import scipy
import sklearn
from scipy.stats import binomtest, bootstrap
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score,
                             precision_recall_fscore_support)

N = 600
CLASSES = 7
SEED = 20240601
RESAMPLES = 20000


def label(i):
    return (i * 3) % CLASSES


def prediction(i, multiplier, offset, percent_right):
    if (i * multiplier + offset) % 100 < percent_right:
        return label(i)
    return (label(i) + 1 + i % 3) % CLASSES


labels = np.array([label(i) for i in range(N)])
pred_a = np.array([prediction(i, 37, 11, 62) for i in range(N)])
pred_b = np.array([prediction(i, 53, 7, 58) for i in range(N)])
right_a = (labels == pred_a).astype(float)
right_b = (labels == pred_b).astype(float)

# Class 3 is only predicted, class 5 only a label (never predicted), classes 4 and 6 absent.
sparse_labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 5, 5, 5, 0, 1, 2])
sparse_pred = np.array([0, 0, 1, 1, 3, 2, 2, 0, 2, 2, 0, 1, 0, 3, 2])


def macro_f1(y, p):
    """FERLab's macro-F1: scikit-learn f1_score(average="macro") without `labels`."""
    return f1_score(y, p, average="macro", zero_division=0)


def report(y, p):
    """scikit-learn's per-class report over all CLASSES classes."""
    everything = list(range(CLASSES))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, p, labels=everything, zero_division=0)
    return {"accuracy": accuracy_score(y, p), "macro_f1": macro_f1(y, p),
            "precision": precision, "recall": recall, "f1": f1, "support": support,
            "confusion": confusion_matrix(y, p, labels=everything)}


def percentile_ci(data, statistic, paired=False, vectorized=True):
    result = bootstrap(data, statistic, n_resamples=RESAMPLES, method="percentile",
                       confidence_level=0.95, paired=paired, vectorized=vectorized,
                       rng=np.random.default_rng(SEED))
    return result.confidence_interval.low, result.confidence_interval.high


with warnings.catch_warnings():
    warnings.simplefilter("error")  # an ill-defined metric must come from zero_division=0
    report_a = report(labels, pred_a)
    report_sparse = report(sparse_labels, sparse_pred)
    acc_ci = percentile_ci((right_a,), np.mean)
    diff_ci = percentile_ci((right_a, right_b),
                            lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
                            paired=True)
    f1_ci = percentile_ci((labels, pred_a), macro_f1, paired=True, vectorized=False)

a_only = int(np.sum((right_a == 1) & (right_b == 0)))
b_only = int(np.sum((right_a == 0) & (right_b == 1)))
# (a_only, b_only) pairs: small, balanced, one-sided and large (2^-n underflows a double).
mcnemar_cases = [(a_only, b_only), (3, 7), (10, 25), (1, 0), (5, 5), (0, 6), (200, 260),
                 (1000, 1100), (1500, 1700)]


def doubles(values, indent=5, width=100):
    """Comma-separated, wrapped as clang-format wraps a braced list (100 columns)."""
    lines, line = [], ""
    for text in ["%.17g" % v for v in values]:
        if line and indent + len(line) + len(text) + 3 > width:
            lines.append(line + ",")
            line = ""
        line = text if not line else line + ", " + text
    return ("\n" + " " * indent).join(lines + [line])


def integers(values):
    return ", ".join("%d" % v for v in values)


def print_report(name, values):
    print("constexpr ClassReport k%s = {" % name)
    print("    %.17g," % values["accuracy"])
    print("    %.17g," % values["macro_f1"])
    for key in ("precision", "recall", "f1"):
        print("    {%s}," % doubles(values[key]))
    print("    {%s}," % integers(values["support"]))
    print("    {%s}};" % ",\n     ".join("{%s}" % integers(row) for row in values["confusion"]))


print("#pragma once")
print("// Generated by tests/report/statistics_reference.py with SciPy %s, scikit-learn %s,"
      % (scipy.__version__, sklearn.__version__))
print("// NumPy %s (the pinned .venv of scripts/python.lock). Do not edit: re-run the script."
      % np.__version__)
print("#include <cstdint>")
print("namespace ferlab::report::reference {")
print("constexpr int kSamples = %d, kClasses = %d;" % (N, CLASSES))
print("constexpr double kAccuracyA = %.17g, kAccuracyB = %.17g;"
      % (accuracy_score(labels, pred_a), accuracy_score(labels, pred_b)))
print("// sklearn.metrics.f1_score(labels, pred_a, average=\"macro\", zero_division=0)")
print("constexpr double kMacroF1A = %.17g;" % report_a["macro_f1"])
print("// scipy.stats.bootstrap, percentile method, %d resamples, 95%%, rng=default_rng(%d)."
      % (RESAMPLES, SEED))
print("constexpr double kAccuracyCi[2] = {%.17g, %.17g};" % acc_ci)
print("constexpr double kDifferenceCi[2] = {%.17g, %.17g};" % diff_ci)
print("constexpr double kMacroF1Ci[2] = {%.17g, %.17g};" % f1_ci)
print("struct McNemarCase {\n  std::int64_t a_only, b_only;\n  double p_value;\n};")
print("// scipy.stats.binomtest(min(a_only, b_only), a_only + b_only, 0.5).pvalue")
print("constexpr McNemarCase kMcNemar[] = {")
for a, b in mcnemar_cases:
    p = 1.0 if a + b == 0 else binomtest(min(a, b), a + b, 0.5).pvalue
    print("    {%d, %d, %.17g}," % (a, b, p))
print("};")
print("// scikit-learn's classification report over classes 0..%d: accuracy_score, macro-F1 as"
      % (CLASSES - 1))
print("// above, precision_recall_fscore_support(labels=range(%d), zero_division=0) and"
      % CLASSES)
print("// confusion_matrix(labels=range(%d)) (row = true class, column = predicted class)."
      % CLASSES)
print("struct ClassReport {")
print("  double accuracy, macro_f1;")
print("  double precision[%d], recall[%d], f1[%d];" % (CLASSES, CLASSES, CLASSES))
print("  std::int64_t support[%d];" % CLASSES)
print("  std::int64_t confusion[%d][%d];" % (CLASSES, CLASSES))
print("};")
print("// Run A of the synthetic data (labels, pred_a).")
print_report("ReportA", report_a)
print("// The sparse case: class 3 only predicted, class 5 never predicted, 4 and 6 absent.")
print("constexpr std::int64_t kSparseLabels[] = {%s};" % integers(sparse_labels))
print("constexpr std::int64_t kSparsePredicted[] = {%s};" % integers(sparse_pred))
print_report("ReportSparse", report_sparse)
print("}  // namespace ferlab::report::reference")
