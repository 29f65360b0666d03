#include "framework/report/EnsembleSelection.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ferlab::report {
namespace {

constexpr double kMinProbability = 1e-12;

void checkMatrix(const ProbabilityMatrix& matrix, std::size_t samples, int classes,
                 const std::string& what) {
  if (matrix.classes != classes || matrix.samples != static_cast<std::int64_t>(samples) ||
      matrix.values.size() != samples * static_cast<std::size_t>(classes)) {
    throw std::invalid_argument(
        what + ": expected " + std::to_string(samples) + " x " + std::to_string(classes) +
        " probabilities, got " + std::to_string(matrix.samples) + " x " +
        std::to_string(matrix.classes) + " (" + std::to_string(matrix.values.size()) + " values)");
  }
}

void checkLabels(const std::vector<std::int64_t>& labels, int classes) {
  for (const std::int64_t label : labels) {
    if (label < 0 || label >= classes) {
      throw std::invalid_argument("label " + std::to_string(label) + " outside [0, " +
                                  std::to_string(classes) + ")");
    }
  }
}

void checkValidation(const ValidationSet& validation) {
  if (validation.candidates.empty()) throw std::invalid_argument("no candidate to select from");
  const int classes = validation.candidates.front().classes;
  if (classes < 1) throw std::invalid_argument("candidates have no class");
  for (std::size_t m = 0; m < validation.candidates.size(); ++m) {
    checkMatrix(validation.candidates[m], validation.labels.size(), classes,
                "candidate " + std::to_string(m));
  }
  checkLabels(validation.labels, classes);
}

/// The score of the ensemble whose probabilities are (sum + extra) / total: `sum` holds the
/// probabilities of the models picked so far added up (samples x classes, double), `extra`
/// the candidate tried on top of them. The argmax does not depend on the division.
EnsembleScore scoreOfSum(const std::vector<double>& sum, const ProbabilityMatrix& extra, int total,
                         const std::vector<std::int64_t>& labels) {
  const int k = extra.classes;
  std::int64_t correct = 0;
  double nll = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double* row = sum.data() + i * k;
    const float* added = extra.values.data() + i * k;
    int top = 0;
    double top_value = row[0] + added[0];
    for (int c = 1; c < k; ++c) {
      const double value = row[c] + added[c];
      if (value > top_value) {
        top_value = value;
        top = c;
      }
    }
    const auto label = static_cast<std::size_t>(labels[i]);
    correct += top == static_cast<int>(label);
    nll -= std::log(std::max((row[label] + added[label]) / total, kMinProbability));
  }
  const auto n = static_cast<double>(labels.size());
  return {correct, labels.empty() ? 0.0 : correct / n, labels.empty() ? 0.0 : nll / n};
}

/// Strictly better: more samples right, or as many with a lower NLL.
bool better(const EnsembleScore& a, const EnsembleScore& b) {
  return a.correct != b.correct ? a.correct > b.correct : a.nll < b.nll;
}

Selection selectGreedy(const ValidationSet& validation, int rounds) {
  const auto& candidates = validation.candidates;
  const std::size_t m_count = candidates.size();
  Selection selection;
  selection.method = SelectionMethod::Greedy;
  std::vector<double> sum(candidates.front().values.size(), 0.0);
  for (int round = 0; round < rounds; ++round) {
    int best = -1;
    EnsembleScore best_score;
    // Ascending index and a strict comparison: ties go to the lower index.
    for (std::size_t m = 0; m < m_count; ++m) {
      const EnsembleScore score = scoreOfSum(sum, candidates[m], round + 1, validation.labels);
      if (best < 0 || better(score, best_score)) {
        best = static_cast<int>(m);
        best_score = score;
      }
    }
    const std::vector<float>& picked = candidates[best].values;
    for (std::size_t j = 0; j < sum.size(); ++j) sum[j] += picked[j];
    selection.picks.push_back(best);
    selection.scores.push_back(best_score);
  }
  // The best prefix; strict comparison, so ties keep the shorter one.
  std::size_t kept = 0;
  for (std::size_t r = 1; r < selection.scores.size(); ++r) {
    if (better(selection.scores[r], selection.scores[kept])) kept = r;
  }
  selection.kept = static_cast<int>(kept) + 1;
  selection.counts.assign(m_count, 0);
  for (int r = 0; r < selection.kept; ++r) ++selection.counts[selection.picks[r]];
  for (const int count : selection.counts)
    selection.weights.push_back(static_cast<double>(count) / selection.kept);
  return selection;
}

}  // namespace

const char* selectionMethodName(SelectionMethod method) {
  switch (method) {
    case SelectionMethod::All:
      return "all";
    case SelectionMethod::Greedy:
      return "greedy";
  }
  return "unknown";
}

int defaultGreedyRounds(std::size_t candidates) {
  return static_cast<int>(std::max<std::size_t>(10, 2 * candidates));
}

Selection selectEnsemble(const ValidationSet& validation, SelectionMethod method, int rounds) {
  checkValidation(validation);
  if (rounds < 0) throw std::invalid_argument("rounds " + std::to_string(rounds) + " < 0");
  Selection selection;
  if (method == SelectionMethod::Greedy) {
    selection = selectGreedy(
        validation, rounds > 0 ? rounds : defaultGreedyRounds(validation.candidates.size()));
  } else {
    const std::size_t m = validation.candidates.size();
    selection.method = SelectionMethod::All;
    selection.counts.assign(m, 1);
    selection.weights.assign(m, 1.0 / static_cast<double>(m));
  }
  // The score of exactly what is recorded: the weighted mean, stored as float32.
  std::vector<const ProbabilityMatrix*> models;
  for (const ProbabilityMatrix& candidate : validation.candidates) models.push_back(&candidate);
  selection.score = scoreOf(weightedMean(models, selection.weights), validation.labels);
  return selection;
}

ProbabilityMatrix weightedMean(const std::vector<const ProbabilityMatrix*>& models,
                               const std::vector<double>& weights) {
  if (models.empty()) throw std::invalid_argument("no model to average");
  if (models.size() != weights.size()) {
    throw std::invalid_argument(std::to_string(models.size()) + " models but " +
                                std::to_string(weights.size()) + " weights");
  }
  const ProbabilityMatrix& first = *models.front();
  for (std::size_t m = 0; m < models.size(); ++m) {
    checkMatrix(*models[m], static_cast<std::size_t>(first.samples), first.classes,
                "model " + std::to_string(m));
  }
  std::vector<double> sum(first.values.size(), 0.0);
  for (std::size_t m = 0; m < models.size(); ++m) {
    if (weights[m] == 0) continue;
    const std::vector<float>& values = models[m]->values;
    for (std::size_t j = 0; j < sum.size(); ++j) sum[j] += weights[m] * values[j];
  }
  ProbabilityMatrix mean{first.samples, first.classes, {}};
  mean.values.assign(sum.begin(), sum.end());
  return mean;
}

std::vector<std::int64_t> argmaxRows(const ProbabilityMatrix& probabilities) {
  const int k = probabilities.classes;
  std::vector<std::int64_t> top(static_cast<std::size_t>(probabilities.samples), 0);
  for (std::size_t i = 0; i < top.size(); ++i) {
    const float* row = probabilities.values.data() + i * k;
    for (int c = 1; c < k; ++c) {
      if (row[c] > row[top[i]]) top[i] = c;
    }
  }
  return top;
}

EnsembleScore scoreOf(const ProbabilityMatrix& probabilities,
                      const std::vector<std::int64_t>& labels) {
  checkMatrix(probabilities, labels.size(), probabilities.classes, "probabilities");
  checkLabels(labels, probabilities.classes);
  const std::vector<std::int64_t> predicted = argmaxRows(probabilities);
  std::int64_t correct = 0;
  double nll = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    correct += predicted[i] == labels[i];
    const double p = probabilities.values[i * probabilities.classes + labels[i]];
    nll -= std::log(std::max(p, kMinProbability));
  }
  const auto n = static_cast<double>(labels.size());
  return {correct, labels.empty() ? 0.0 : correct / n, labels.empty() ? 0.0 : nll / n};
}

}  // namespace ferlab::report
