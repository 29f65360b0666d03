// Sections 3 "Learning curves" (loss and accuracy per epoch, phase starts) and 4 "Effects"
// (validation accuracy grouped by the value of each varied param).

#include "framework/report/ReportSections.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "framework/report/Charts.h"

namespace ferlab::report::sections {
namespace {

// Numbers sort numerically, other values as text, so "0.0001" < "0.001" < "0.01".
bool lessParamValue(const std::string& a, const std::string& b) {
  char* end_a = nullptr;
  char* end_b = nullptr;
  const double x = std::strtod(a.c_str(), &end_a);
  const double y = std::strtod(b.c_str(), &end_b);
  const bool numeric = !a.empty() && !b.empty() && *end_a == '\0' && *end_b == '\0';
  if (numeric && x != y) return x < y;
  return a < b;
}

}  // namespace

std::string renderCurves(Context& context) {
  std::string html = openSection("curves");
  std::vector<CurveRun> curves;
  std::string missing, ensembles;
  for (const ReportRun& run : context.runs) {
    if (run.ensemble()) {  // averaged probabilities of trained runs: nothing trained, no curve
      ensembles += (ensembles.empty() ? "" : ", ") + escapeHtml(run.label);
      continue;
    }
    if (run.epochs.empty()) {
      missing += (missing.empty() ? "" : ", ") + escapeHtml(run.label);
      continue;
    }
    curves.push_back({run.label, run.row.record.id, run.details, run.epochs, run.phases});
  }
  if (!ensembles.empty()) {
    html += fmt::format(
        "<p class=\"hint\">Ensembles have no epochs (their members' stored probabilities, "
        "averaged): {}</p>\n",
        ensembles);
  }
  if (curves.empty()) return html + "<p>No epochs recorded yet.</p>\n</section>\n";
  if (!missing.empty()) {
    html += fmt::format("<p class=\"hint\">No epochs recorded: {}</p>\n", missing);
  }
  context.specs["chart-loss"] = learningCurvesSpec(curves, CurveMetric::Loss);
  context.specs["chart-accuracy"] = learningCurvesSpec(curves, CurveMetric::Accuracy);
  html +=
      "<p class=\"hint\">Solid: train, dashed: validation (PublicTest); grey dashed vertical "
      "rules mark the start of a freeze / fine-tune phase. Hover a point for the run's "
      "details. Click a run in the legend to show only it; shift-click adds runs, "
      "double-click shows all again.</p>\n<div class=\"charts\">" +
      chartDiv("chart-loss") + chartDiv("chart-accuracy") + "</div>\n";
  return html + "</section>\n";
}

std::string renderEffects(Context& context) {
  std::string html = openSection("effects");
  html +=
      "<p class=\"hint\">Validation (PublicTest) accuracy grouped by the value of each param "
      "that varies: red dot = mean over the runs with that value (whatever the other params "
      "and seeds), bar = mean &plusmn; one sample standard deviation (min to max of a single "
      "run's value when n = 1). Runs without a validation accuracy, and ensembles (they have no "
      "params), are left out.</p>\n";
  int charts = 0;
  std::string divs;
  std::vector<std::string> keys = context.varied;
  if (context.backbone_varies) keys.push_back(kBackboneKey);
  for (const std::string& key : keys) {
    std::map<std::string, std::vector<double>> groups;
    for (const ReportRun& run : context.runs) {
      const double val = run.row.summary.best_val_accuracy;
      if (!isKnown(val) || run.ensemble()) continue;
      const std::string* value = findParam(run.row.record, key);
      groups[value ? *value : kMissing].push_back(val);
    }
    if (groups.size() < 2) continue;  // nothing to compare among the runs with results
    std::vector<std::string> values;
    for (const auto& [value, accuracies] : groups) values.push_back(value);
    std::sort(values.begin(), values.end(), lessParamValue);
    std::vector<EffectPoint> points;
    for (const std::string& value : values) {
      const MeanStd stats = meanStd(groups[value]);
      points.push_back(
          {value, stats.mean, stats.mean - stats.std, stats.mean + stats.std, stats.n});
    }
    const std::string id = fmt::format("chart-effect-{}", charts++);
    context.specs[id] = effectSpec(key, points, "validation accuracy");
    divs += chartDiv(id);
  }
  if (charts == 0) {
    return html +
           "<p>No param takes two or more values among runs with a validation "
           "accuracy.</p>\n</section>\n";
  }
  return html + "<div class=\"charts\">" + divs + "</div>\n</section>\n";
}

}  // namespace ferlab::report::sections
