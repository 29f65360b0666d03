#pragma once
// Ensemble selection, the pure math behind `ferlab ensemble` (report/Ensemble.h does the store
// side): weighted means of the members' softmax probabilities, and the choice of members and
// weights, either all candidates with equal weights or forward selection with replacement
// (Caruana, Niculescu-Mizil, Crew & Ksikes, "Ensemble Selection from Libraries of Models",
// ICML 2004). Pure C++, deterministic, no store and no I/O.
//
// PrivateTest cannot reach the selection: selectEnsemble() takes a ValidationSet, which holds
// the candidates' PublicTest probabilities and the PublicTest labels and nothing else. The
// caller evaluates PrivateTest once, afterwards, with the chosen weights (weightedMean).

#include <cstdint>
#include <vector>

namespace ferlab::report {

/// One model's softmax probabilities on one split: float32, row-major samples x classes,
/// values[i * classes + c] = P(class c | sample i).
struct ProbabilityMatrix {
  std::int64_t samples = 0;
  int classes = 0;
  std::vector<float> values;
};

/// Everything ensemble selection may look at: the candidates' PublicTest (validation)
/// probabilities, all on the same samples in the same order, and those samples' true labels
/// (class indices in [0, classes)). There is no room here for PrivateTest.
struct ValidationSet {
  std::vector<ProbabilityMatrix> candidates;
  std::vector<std::int64_t> labels;  ///< one per sample
};

enum class SelectionMethod {
  All,     ///< every candidate, equal weights
  Greedy,  ///< Caruana et al. 2004: forward selection with replacement
};
const char* selectionMethodName(SelectionMethod method);  ///< "all" | "greedy"

/// A weighted ensemble scored on labelled samples.
struct EnsembleScore {
  std::int64_t correct = 0;  ///< samples whose argmax (lowest class on ties) is the label
  double accuracy = 0;       ///< correct / samples, a fraction in [0, 1]
  double nll = 0;            ///< mean negative log-likelihood of the label, nats
};

/// The chosen members and weights, and how the choice went.
struct Selection {
  SelectionMethod method = SelectionMethod::Greedy;
  std::vector<double> weights;        ///< one per candidate, >= 0, summing to 1
  std::vector<int> counts;            ///< times each candidate was picked in the kept rounds
  std::vector<int> picks;             ///< Greedy: the candidate added in each round run; All: empty
  std::vector<EnsembleScore> scores;  ///< Greedy: the ensemble after each round run
  int kept = 0;                       ///< Greedy: rounds kept (a prefix of picks); All: 0
  EnsembleScore score;                ///< the chosen ensemble on the validation samples
};

/// Greedy rounds when none are asked for: twice the candidates, at least 10.
int defaultGreedyRounds(std::size_t candidates);

/// Chooses the ensemble on `validation` alone. All: weight 1/M for each of the M candidates.
/// Greedy (Caruana et al. 2004, section 2, with replacement and without their bagging):
/// round 1 takes the single best candidate; every later round adds, with replacement, the
/// candidate that gives the averaged ensemble the highest accuracy (ties: lower NLL, then
/// lower candidate index); after `rounds` rounds (0: defaultGreedyRounds) the prefix with the
/// highest accuracy is kept (ties: lower NLL, then fewer rounds), and a candidate's weight is
/// the times it was picked in that prefix over its length. The kept ensemble is therefore at
/// least as accurate on `validation` as its best single candidate.
/// Throws std::invalid_argument (a caller's mistake, not user input) when there is no
/// candidate, a matrix does not hold labels.size() x classes values, candidates differ in
/// classes, a label is outside [0, classes), or rounds < 0.
Selection selectEnsemble(const ValidationSet& validation, SelectionMethod method, int rounds = 0);

/// sum_m weights[m] * models[m], accumulated in double and stored as float32. Throws
/// std::invalid_argument when the sizes disagree or there is no model.
ProbabilityMatrix weightedMean(const std::vector<const ProbabilityMatrix*>& models,
                               const std::vector<double>& weights);

/// Per sample, the class of highest probability (the lowest such class on ties).
std::vector<std::int64_t> argmaxRows(const ProbabilityMatrix& probabilities);

/// Accuracy and mean negative log-likelihood, -ln max(p[label], 1e-12) averaged over the
/// samples. Throws std::invalid_argument when sizes disagree or a label is out of range.
EnsembleScore scoreOf(const ProbabilityMatrix& probabilities,
                      const std::vector<std::int64_t>& labels);

}  // namespace ferlab::report
