#pragma once
// `ferlab ensemble`: an ensemble of recorded runs, built from their stored softmax
// probabilities (the store's predictions of PublicTest and PrivateTest), so no model is run
// again. Members and weights are chosen on PublicTest alone (EnsembleSelection.h: all with
// equal weights, or greedy forward selection with replacement, Caruana et al. ICML 2004);
// PrivateTest is read after the choice and evaluated once with the chosen weights.
//
// The result is recorded as a finished run of kind Ensemble (tracking::RunKind, schema v7):
// its members and weights, split metrics, confusion matrices and per-sample predictions of
// both splits, and a summary whose validation values are PublicTest's and whose test values
// are PrivateTest's. It has no epochs, no checkpoint and no training config; its config_json
// is {"ensemble": {...selection...}, "data": {"eval_subset": x}}, x being the members'
// data.eval_subset, so a thinned ensemble is marked like a thinned run.

#include <string>
#include <vector>

#include "framework/report/EnsembleSelection.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::report {

/// What to combine (exactly one of `runs` and `experiment`) and how.
struct EnsembleRequest {
  std::vector<std::string> runs;  ///< run ids or unique id prefixes
  /// Every finished training run of this experiment; its runs that have not finished or
  /// have no stored predictions are left out (EnsembleOutcome::left_out), its ensembles are
  /// never candidates.
  std::string experiment;
  SelectionMethod method = SelectionMethod::Greedy;
  int rounds = 0;    ///< greedy rounds; 0 = defaultGreedyRounds(candidates)
  std::string name;  ///< the ensemble run's name; part of its id
};

struct EnsembleOutcome {
  tracking::RunRow run;                           ///< as recorded
  std::vector<tracking::EnsembleMember> members;  ///< weight > 0, heaviest first
  std::vector<tracking::RunRow> candidates;       ///< what selection chose from
  std::vector<std::string> left_out;              ///< "id (status)": unfinished runs
  Selection selection;                            ///< indices follow `candidates`
  tracking::SplitMetrics validation, test;        ///< PublicTest, PrivateTest
};

/// Builds, records and returns the ensemble. Its run id is ensembleRunId(name, members), so
/// the same request on the same store records the same run again (its rows replaced) rather
/// than a second one. It is recorded under the candidates' experiment when they all belong to
/// one (always so with `experiment`): `ferlab ls -e E` and `ferlab report -e E` then show it
/// beside the runs it combines, and the report tests it against them. Candidates from several
/// experiments belong to none of them, so the ensemble gets an experiment of its own, `name`.
/// Throws UsageError (no name, both or neither of runs and experiment, a run given twice,
/// rounds < 0), StoreError (a run id unknown or ambiguous, an experiment without runs or
/// without a finished one with predictions, a given run not finished or itself an ensemble, a run
/// without stored PublicTest or PrivateTest predictions), DataError (runs that disagree on the
/// samples, their order, labels or number of classes: the message names the run).
EnsembleOutcome buildEnsemble(tracking::SqliteStore& store, const EnsembleRequest& request);

/// 12 hex digits: FNV-1a (core/Hash.h) of the name and the members' ids and weights (sorted
/// by id, weights to 17 significant digits).
std::string ensembleRunId(const std::string& name,
                          const std::vector<tracking::EnsembleMember>& members);

}  // namespace ferlab::report
