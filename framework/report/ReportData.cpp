// Loading the report's data from the tracking store: the selected runs with their history,
// final metrics and test predictions, display labels, varied params and the best run.

#include "framework/report/ReportSections.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace ferlab::report::sections {
namespace {

void assignLabels(std::vector<ReportRun>& runs) {
  std::map<std::string, int> uses;
  for (const ReportRun& run : runs) ++uses[run.row.record.name];
  for (ReportRun& run : runs) {
    const tracking::RunRecord& record = run.row.record;
    run.label =
        uses[record.name] > 1 ? fmt::format("{} ({})", record.name, record.id) : record.name;
  }
}

// Keys whose value differs between at least two shown training runs (a key one of them lacks
// differs); constant keys would only repeat the same value in every row. Ensembles have no
// params, so they take no part.
std::vector<std::string> variedParamKeys(const std::vector<ReportRun>& runs,
                                         std::vector<std::string>* all_keys) {
  std::map<std::string, std::set<std::string>> values;
  std::map<std::string, std::size_t> holders;
  std::size_t trained = 0;
  for (const ReportRun& run : runs) {
    if (run.ensemble()) continue;
    ++trained;
    for (const auto& [key, value] : run.row.record.params) {
      values[key].insert(value);
      ++holders[key];
    }
  }
  std::vector<std::string> keys;
  for (const auto& [key, distinct] : values) {
    if (key == kBackboneKey) continue;
    all_keys->push_back(key);
    if (distinct.size() > 1 || holders[key] < trained) keys.push_back(key);
  }
  return keys;
}

std::vector<std::string> classNamesOf(const std::vector<ReportRun>& runs) {
  for (const ReportRun& run : runs) {
    for (const SplitMetrics& split : run.splits) {
      if (split.classes.empty()) continue;
      std::vector<std::string> names;
      for (const tracking::ClassMetrics& metrics : split.classes) names.push_back(metrics.name);
      return names;
    }
  }
  // No split metrics stored: the class count from the predictions, else FER2013's seven.
  std::size_t k = 7;
  for (const ReportRun& run : runs) {
    if (!run.test.empty() && !run.test.front().probabilities.empty()) {
      k = run.test.front().probabilities.size();
      break;
    }
  }
  std::vector<std::string> names;
  for (std::size_t i = 0; i < k; ++i) names.push_back(fmt::format("class {}", i));
  return names;
}

}  // namespace

const std::string* findParam(const tracking::RunRecord& record, const std::string& key) {
  for (const auto& [name, value] : record.params) {
    if (name == key) return &value;
  }
  return nullptr;
}

const SplitMetrics* findSplit(const ReportRun& run, const std::string& split) {
  for (const SplitMetrics& metrics : run.splits) {
    if (metrics.split == split) return &metrics;
  }
  return nullptr;
}

Context loadContext(const tracking::SqliteStore& store, const ReportOptions& options) {
  Context context;
  context.options = &options;
  for (RunRow& row : selectRuns(store, options.selection)) {
    ReportRun run;
    const std::string& id = row.record.id;
    run.epochs = store.epochs(id);
    run.phases = store.phases(id);
    run.splits = store.splitMetrics(id);
    run.test = store.predictions(id, kTestSplit);
    run.evaluations = store.evaluations(id);
    std::sort(run.test.begin(), run.test.end(), [](const Prediction& a, const Prediction& b) {
      return a.sample_index < b.sample_index;
    });
    run.row = std::move(row);
    run.data_record = run.row.record;
    if (run.ensemble()) {
      run.members = store.ensembleMembers(run.row.record.id);
      for (const tracking::EnsembleMember& member : run.members) {
        if (std::optional<tracking::RunRecord> found = store.findRun(member.run_id)) {
          run.data_record = std::move(*found);
          break;
        }
      }
    }
    context.runs.push_back(std::move(run));
  }
  assignLabels(context.runs);
  context.varied = variedParamKeys(context.runs, &context.all_keys);
  std::set<std::string> backbones;
  for (const ReportRun& run : context.runs) {
    if (!run.ensemble()) backbones.insert(run.row.record.backbone);
  }
  context.backbone_varies = backbones.size() > 1;
  for (ReportRun& run : context.runs) {
    if (run.ensemble()) {
      run.details = fmt::format("ensemble of {} run{}:", run.members.size(),
                                run.members.size() == 1 ? "" : "s");
      for (const tracking::EnsembleMember& member : run.members)
        run.details += fmt::format(" {} \u00d7{:.3f}", member.run_id, member.weight);
      continue;
    }
    std::vector<std::string> keys = context.varied;
    if (context.backbone_varies) keys.push_back(kBackboneKey);
    for (const std::string& key : keys) {
      const std::string* value = findParam(run.row.record, key);
      run.details +=
          fmt::format("{}{}={}", run.details.empty() ? "" : ", ", key, value ? *value : kMissing);
    }
    if (run.details.empty()) run.details = run.row.record.backbone;
  }
  // Best by validation accuracy only (the protocol); ties keep store order.
  double best_val = -1;
  for (std::size_t i = 0; i < context.runs.size(); ++i) {
    const double val = context.runs[i].row.summary.best_val_accuracy;
    if (isKnown(val) && val > best_val) {
      best_val = val;
      context.best = static_cast<int>(i);
    }
  }
  context.class_names = classNamesOf(context.runs);
  return context;
}

std::vector<std::int64_t> labelsOf(const std::vector<Prediction>& predictions) {
  std::vector<std::int64_t> labels;
  labels.reserve(predictions.size());
  for (const Prediction& p : predictions) labels.push_back(p.label);
  return labels;
}
std::vector<std::int64_t> predictedOf(const std::vector<Prediction>& predictions) {
  std::vector<std::int64_t> predicted;
  predicted.reserve(predictions.size());
  for (const Prediction& p : predictions) predicted.push_back(p.predicted);
  return predicted;
}

// Paired statistics need the same samples in the same order with the same labels.
bool samePredictionSamples(const std::vector<Prediction>& a, const std::vector<Prediction>& b) {
  if (a.size() != b.size() || a.empty()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].sample_index != b[i].sample_index || a[i].label != b[i].label) return false;
  }
  return true;
}

}  // namespace ferlab::report::sections
