#include "framework/report/Ensemble.h"

#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"
#include "framework/core/Hash.h"
#include "framework/core/Provenance.h"
#include "framework/report/Statistics.h"

namespace ferlab::report {
namespace {

using tracking::EnsembleMember;
using tracking::Prediction;
using tracking::RunRow;
using tracking::SplitMetrics;

constexpr const char* kValSplit = "PublicTest";
constexpr const char* kTestSplit = "PrivateTest";

std::string describe(const RunRow& row) {
  return fmt::format("run {} ({})", row.record.id, row.record.name);
}

// ---------------------------------------------------------------------------------------
// Candidates

RunRow givenRun(const tracking::SqliteStore& store, const std::string& id_or_prefix) {
  RunRow row = store.getRun(id_or_prefix);  // StoreError: unknown or ambiguous
  if (row.record.kind == tracking::RunKind::Ensemble) {
    throw StoreError(
        fmt::format("{} is an ensemble itself; list its members instead (ferlab "
                    "show {})",
                    describe(row), row.record.id));
  }
  if (row.record.status != tracking::RunStatus::Finished) {
    throw StoreError(
        fmt::format("{} is {}, not finished: only a finished run has the stored "
                    "predictions an ensemble averages",
                    describe(row), tracking::statusName(row.record.status)));
  }
  return row;
}

std::vector<RunRow> candidatesOf(const tracking::SqliteStore& store, const EnsembleRequest& request,
                                 std::vector<std::string>& left_out) {
  std::vector<RunRow> candidates;
  if (!request.runs.empty()) {
    std::set<std::string> seen;
    for (const std::string& id : request.runs) {
      RunRow row = givenRun(store, id);
      if (!seen.insert(row.record.id).second) {
        throw UsageError(fmt::format("{} is given twice ('{}')", describe(row), id));
      }
      candidates.push_back(std::move(row));
    }
    return candidates;
  }
  std::vector<RunRow> rows = store.listRuns(request.experiment);
  if (rows.empty()) {
    throw StoreError(fmt::format("{}: no runs in experiment '{}' (see ferlab ls)", store.path(),
                                 request.experiment));
  }
  for (RunRow& row : rows) {
    if (row.record.kind == tracking::RunKind::Ensemble) continue;
    if (row.record.status != tracking::RunStatus::Finished) {
      left_out.push_back(fmt::format("{} ({}, not finished)", row.record.id,
                                     tracking::statusName(row.record.status)));
    } else if (store.predictions(row.record.id, kValSplit).empty()) {
      // Recorded without predictions (an older FERLab): nothing to average.
      left_out.push_back(fmt::format("{} (no stored predictions)", row.record.id));
    } else {
      candidates.push_back(std::move(row));
    }
  }
  if (candidates.empty()) {
    const std::string runs =
        left_out.empty() ? "" : fmt::format(" (its runs: {})", fmt::join(left_out, ", "));
    throw StoreError(
        fmt::format("{}: experiment '{}' has no finished training run with stored "
                    "predictions{}",
                    store.path(), request.experiment, runs));
  }
  return candidates;
}

// ---------------------------------------------------------------------------------------
// Stored predictions

/// One split of every candidate, checked to line up: the samples (in sample-index order) as
/// the first candidate has them, and every candidate's probabilities on them.
struct SplitData {
  std::vector<std::int64_t> sample_index;
  std::vector<std::string> sample_id;
  std::vector<std::int64_t> labels;
  std::vector<ProbabilityMatrix> probabilities;  ///< one per candidate
};

/// The candidates' stored predictions of `split`. Throws StoreError (none stored), DataError
/// (samples, labels or class counts that do not line up, naming the run).
SplitData loadSplit(const tracking::SqliteStore& store, const std::vector<RunRow>& candidates,
                    const std::string& split) {
  SplitData data;
  for (std::size_t m = 0; m < candidates.size(); ++m) {
    const RunRow& run = candidates[m];
    const std::vector<Prediction> predictions = store.predictions(run.record.id, split);
    if (predictions.empty()) {
      throw StoreError(fmt::format(
          "{} has no stored {} predictions; an ensemble needs the PublicTest and PrivateTest "
          "predictions every finished run records",
          describe(run), split));
    }
    ProbabilityMatrix matrix;
    matrix.samples = static_cast<std::int64_t>(predictions.size());
    matrix.classes = static_cast<int>(predictions.front().probabilities.size());
    if (m == 0) {
      if (matrix.classes < 1) {
        throw DataError(
            fmt::format("{}: {} predictions without probabilities", describe(run), split));
      }
      for (const Prediction& p : predictions) {
        data.sample_index.push_back(p.sample_index);
        data.sample_id.push_back(p.sample_id);
        data.labels.push_back(p.label);
      }
    } else {
      const RunRow& first = candidates.front();
      const int classes = data.probabilities.front().classes;
      if (matrix.classes != classes) {
        throw DataError(
            fmt::format("{} has {} classes, {} has {}: an ensemble needs one "
                        "set of classes",
                        describe(run), matrix.classes, describe(first), classes));
      }
      if (predictions.size() != data.labels.size()) {
        throw DataError(fmt::format(
            "{} has {} {} predictions, {} has {}: an ensemble needs "
            "the same samples",
            describe(run), predictions.size(), split, describe(first), data.labels.size()));
      }
      for (std::size_t i = 0; i < predictions.size(); ++i) {
        if (predictions[i].sample_index != data.sample_index[i]) {
          throw DataError(
              fmt::format("{}: its {} samples differ from those of {} (sample "
                          "index {} where it has {}): an ensemble needs the same "
                          "samples",
                          describe(run), split, describe(first), predictions[i].sample_index,
                          data.sample_index[i]));
        }
        if (predictions[i].label != data.labels[i]) {
          throw DataError(fmt::format("{}: {} sample {} is labelled {}, {} labels it {}",
                                      describe(run), split, data.sample_index[i],
                                      predictions[i].label, describe(first), data.labels[i]));
        }
      }
    }
    matrix.values.reserve(predictions.size() * matrix.classes);
    for (const Prediction& p : predictions) {
      if (p.probabilities.size() != static_cast<std::size_t>(matrix.classes)) {
        throw DataError(fmt::format("{}: {} sample {} has {} probabilities, not {}", describe(run),
                                    split, p.sample_index, p.probabilities.size(), matrix.classes));
      }
      if (p.label < 0 || p.label >= matrix.classes) {
        throw DataError(fmt::format("{}: {} sample {} has label {}, outside the {} classes",
                                    describe(run), split, p.sample_index, p.label, matrix.classes));
      }
      matrix.values.insert(matrix.values.end(), p.probabilities.begin(), p.probabilities.end());
    }
    data.probabilities.push_back(std::move(matrix));
  }
  return data;
}

// ---------------------------------------------------------------------------------------
// Results

/// Class names from the first candidate's stored split metrics, else "class i".
std::vector<std::string> classNames(const tracking::SqliteStore& store, const RunRow& run,
                                    int classes) {
  for (const SplitMetrics& split : store.splitMetrics(run.record.id)) {
    if (split.classes.size() != static_cast<std::size_t>(classes)) continue;
    std::vector<std::string> names;
    for (const tracking::ClassMetrics& metrics : split.classes) names.push_back(metrics.name);
    return names;
  }
  std::vector<std::string> names;
  for (int c = 0; c < classes; ++c) names.push_back(fmt::format("class {}", c));
  return names;
}

/// Split metrics of the ensemble as the trainer records a run's (scikit-learn definitions, as
/// train/Metrics.h); loss is the mean negative log-likelihood of the averaged probabilities.
SplitMetrics metricsOf(const std::string& split, const std::vector<std::string>& names,
                       const std::vector<std::int64_t>& labels, const ProbabilityMatrix& mean) {
  const int k = mean.classes;
  const std::vector<std::int64_t> predicted = argmaxRows(mean);
  const EnsembleScore score = scoreOf(mean, labels);
  SplitMetrics metrics;
  metrics.split = split;
  metrics.loss = score.nll;
  metrics.accuracy = score.accuracy;
  metrics.macro_f1 = macroF1(labels, predicted, k);
  metrics.confusion.assign(static_cast<std::size_t>(k) * k, 0);
  for (std::size_t i = 0; i < labels.size(); ++i) ++metrics.confusion[labels[i] * k + predicted[i]];
  for (int c = 0; c < k; ++c) {
    std::int64_t right = metrics.confusion[c * k + c], support = 0, chosen = 0;
    for (int other = 0; other < k; ++other) {
      support += metrics.confusion[c * k + other];
      chosen += metrics.confusion[other * k + c];
    }
    tracking::ClassMetrics m;
    m.name = names[c];
    m.precision = chosen > 0 ? static_cast<double>(right) / chosen : 0.0;
    m.recall = support > 0 ? static_cast<double>(right) / support : 0.0;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
    m.support = support;
    metrics.classes.push_back(std::move(m));
  }
  return metrics;
}

std::vector<Prediction> predictionsOf(const SplitData& data, const ProbabilityMatrix& mean) {
  const std::vector<std::int64_t> predicted = argmaxRows(mean);
  std::vector<Prediction> predictions(data.labels.size());
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    Prediction& p = predictions[i];
    p.sample_index = data.sample_index[i];
    p.sample_id = data.sample_id[i];
    p.label = data.labels[i];
    p.predicted = predicted[i];
    const auto* row = mean.values.data() + i * mean.classes;
    p.probabilities.assign(row, row + mean.classes);
  }
  return predictions;
}

/// The hashed text behind ensembleRunId and the record's config_hash.
std::string identityText(const std::string& name, std::vector<EnsembleMember> members) {
  std::sort(members.begin(), members.end(),
            [](const EnsembleMember& a, const EnsembleMember& b) { return a.run_id < b.run_id; });
  std::string text = "ensemble\n" + name;
  for (const EnsembleMember& m : members) text += fmt::format("\n{}={:.17g}", m.run_id, m.weight);
  return text;
}

/// config_json of an ensemble (Ensemble.h): how it was chosen, and the members' evaluation
/// subset (they share their samples, so they share it).
std::string configJson(const EnsembleRequest& request, const std::vector<RunRow>& candidates,
                       const Selection& selection) {
  nlohmann::json ids = nlohmann::json::array();
  double eval_subset = 1.0;
  for (const RunRow& run : candidates) {
    ids.push_back(run.record.id);
    eval_subset = std::min(eval_subset, config::evalSubsetOf(run.record.config_json));
  }
  nlohmann::json ensemble = {{"select", selectionMethodName(selection.method)},
                             {"selected_on", kValSplit},
                             {"candidates", ids}};
  if (selection.method == SelectionMethod::Greedy) {
    ensemble["rounds"] = selection.picks.size();
    ensemble["kept_rounds"] = selection.kept;
  }
  if (!request.experiment.empty()) ensemble["experiment"] = request.experiment;
  return nlohmann::json{{"ensemble", ensemble}, {"data", {{"eval_subset", eval_subset}}}}.dump();
}

}  // namespace

std::string ensembleRunId(const std::string& name, const std::vector<EnsembleMember>& members) {
  return core::hashHex(identityText(name, members)).substr(0, 12);
}

EnsembleOutcome buildEnsemble(tracking::SqliteStore& store, const EnsembleRequest& request) {
  if (request.name.empty()) throw UsageError("an ensemble needs a name (--name)");
  if (request.runs.empty() == request.experiment.empty()) {
    throw UsageError("name the runs to combine, or --experiment, not both");
  }
  if (request.rounds < 0) {
    throw UsageError(fmt::format("--rounds {}: expected >= 1 (0: the default)", request.rounds));
  }
  EnsembleOutcome outcome;
  outcome.candidates = candidatesOf(store, request, outcome.left_out);
  const std::vector<RunRow>& candidates = outcome.candidates;

  // Selection sees PublicTest and nothing else: a ValidationSet has no room for PrivateTest,
  // which is read only once the weights are fixed.
  SplitData validation = loadSplit(store, candidates, kValSplit);
  ValidationSet selection_input{validation.probabilities, validation.labels};
  outcome.selection = selectEnsemble(selection_input, request.method, request.rounds);
  const Selection& selection = outcome.selection;
  for (std::size_t m = 0; m < candidates.size(); ++m) {
    if (selection.weights[m] > 0)
      outcome.members.push_back({candidates[m].record.id, selection.weights[m]});
  }
  std::stable_sort(outcome.members.begin(), outcome.members.end(),
                   [](const EnsembleMember& a, const EnsembleMember& b) {
                     return a.weight != b.weight ? a.weight > b.weight : a.run_id < b.run_id;
                   });

  const SplitData test = loadSplit(store, candidates, kTestSplit);
  std::vector<const ProbabilityMatrix*> val_models, test_models;
  for (std::size_t m = 0; m < candidates.size(); ++m) {
    val_models.push_back(&validation.probabilities[m]);
    test_models.push_back(&test.probabilities[m]);
  }
  const ProbabilityMatrix val_mean = weightedMean(val_models, selection.weights);
  const ProbabilityMatrix test_mean = weightedMean(test_models, selection.weights);
  const std::vector<std::string> names = classNames(store, candidates.front(), val_mean.classes);
  outcome.validation = metricsOf(kValSplit, names, validation.labels, val_mean);
  outcome.test = metricsOf(kTestSplit, names, test.labels, test_mean);

  tracking::RunRecord record;
  record.kind = tracking::RunKind::Ensemble;
  record.status = tracking::RunStatus::Finished;
  record.name = request.name;
  std::set<std::string> experiments;
  for (const RunRow& run : candidates) experiments.insert(run.record.experiment);
  // Why here: see buildEnsemble in Ensemble.h (ls / report grouping).
  record.experiment = experiments.size() == 1 ? *experiments.begin() : request.name;
  const std::string identity = identityText(request.name, outcome.members);
  record.id = ensembleRunId(request.name, outcome.members);
  record.config_hash = core::hashHex(identity);
  record.config_json = configJson(request, candidates, selection);
  record.backbone = "ensemble";
  record.dataset_key = candidates.front().record.dataset_key;
  record.git_commit = core::gitCommit();
  record.ferlab_version = core::ferlabVersion();

  tracking::RunSummary summary;
  summary.best_val_accuracy = outcome.validation.accuracy;
  summary.best_val_macro_f1 = outcome.validation.macro_f1;
  summary.best_val_loss = outcome.validation.loss;
  summary.test_accuracy = outcome.test.accuracy;
  summary.test_macro_f1 = outcome.test.macro_f1;
  store.recordEnsemble(record, summary, outcome.members, {outcome.validation, outcome.test},
                       {{kValSplit, predictionsOf(validation, val_mean)},
                        {kTestSplit, predictionsOf(test, test_mean)}});
  outcome.run = store.getRun(record.id);
  return outcome;
}

}  // namespace ferlab::report
