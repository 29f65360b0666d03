// Section 5 "Per-class": precision, recall and F1 per class on PrivateTest as a heatmap,
// and normalised confusion matrices (best runs side by side, one chosen by a <select>).

#include "framework/report/ReportSections.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "framework/report/Charts.h"

namespace ferlab::report::sections {
namespace {

Json perClassSpec(const Context& context, int* runs_with_metrics) {
  Json rows = Json::array();
  Json order = Json::array();
  *runs_with_metrics = 0;
  for (const ReportRun& run : context.runs) {
    const SplitMetrics* test = findSplit(run, kTestSplit);
    if (test == nullptr || test->classes.empty()) continue;
    ++*runs_with_metrics;
    order.push_back(run.label);
    for (const tracking::ClassMetrics& metrics : test->classes) {
      const std::pair<const char*, double> values[] = {
          {"precision", metrics.precision}, {"recall", metrics.recall}, {"F1", metrics.f1}};
      for (const auto& [metric, value] : values) {
        rows.push_back({{"run", run.label},
                        {"class", metrics.name},
                        {"metric", metric},
                        {"value", value},
                        {"support", metrics.support}});
      }
    }
  }
  const Json classes = context.class_names;
  const Json x = {{"field", "class"},
                  {"type", "nominal"},
                  {"sort", classes},
                  {"axis", {{"labelAngle", -40}, {"title", nullptr}}}};
  const Json y = {{"field", "run"},
                  {"type", "nominal"},
                  {"sort", order},
                  {"axis", {{"labelLimit", 260}, {"title", nullptr}}}};
  const Json tooltip = Json::array({{{"field", "run"}},
                                    {{"field", "class"}},
                                    {{"field", "metric"}},
                                    {{"field", "value"}, {"format", ".3f"}},
                                    {{"field", "support"}}});
  const Json color = {{"field", "value"},
                      {"type", "quantitative"},
                      {"scale", {{"scheme", "viridis"}, {"domain", {0, 1}}}},
                      {"title", "PrivateTest"}};
  return {
      {"$schema", kVegaLiteSchema},
      {"data", {{"values", rows}}},
      {"facet",
       {{"column",
         {{"field", "metric"},
          {"type", "nominal"},
          {"sort", Json::array({"precision", "recall", "F1"})},
          {"title", nullptr}}}}},
      {"spec",
       {{"width", {{"step", 30}}},
        {"height", {{"step", 16}}},
        {"layer", annotatedHeatmapLayers(x, y, color, tooltip, ".2f", "datum.value < 0.5", 9)}}}};
}

Json confusionOf(const Context& context, const ReportRun& run) {
  const SplitMetrics* test = findSplit(run, kTestSplit);
  return confusionMatrixSpec(run.label, context.class_names, test->confusion, true, 30);
}

}  // namespace

std::string renderPerClass(Context& context) {
  std::string html = openSection("per-class");
  int with_metrics = 0;
  Json heat = perClassSpec(context, &with_metrics);
  if (with_metrics == 0) {
    return html +
           "<p>No run has per-class test metrics yet (n/a for failed, running and "
           "unfinished runs).</p>\n</section>\n";
  }
  context.specs["chart-per-class"] = std::move(heat);
  html +=
      "<p class=\"hint\">Precision, recall and F1 per class on PrivateTest (test), one row per "
      "run with final metrics; runs without them are n/a and not shown.</p>\n" +
      chartDiv("chart-per-class") + "\n";

  // Confusion matrices: the best run and the next best by validation accuracy side by side,
  // and one panel whose run a <select> chooses.
  const std::size_t k = context.class_names.size();
  std::vector<int> order;
  for (std::size_t i = 0; i < context.runs.size(); ++i) {
    const SplitMetrics* test = findSplit(context.runs[i], kTestSplit);
    if (test != nullptr && test->confusion.size() == k * k) order.push_back(static_cast<int>(i));
  }
  if (order.empty()) return html + "<p>No confusion matrices recorded.</p>\n</section>\n";
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const double va = context.runs[a].row.summary.best_val_accuracy;
    const double vb = context.runs[b].row.summary.best_val_accuracy;
    return (isKnown(va) ? va : -1) > (isKnown(vb) ? vb : -1);
  });
  const std::size_t panels = std::min(
      order.size(), static_cast<std::size_t>(std::max(1, context.options->confusion_panels)));
  html +=
      "<h3>Normalised confusion matrices (PrivateTest)</h3>\n<p class=\"hint\">Rows: true "
      "class, columns: predicted class, each row divided by its total (the diagonal is per-class "
      "recall). Best run by validation accuracy first, then the next best.</p>\n"
      "<div class=\"charts\">";
  for (std::size_t i = 0; i < panels; ++i) {
    const std::string id = fmt::format("chart-cm-{}", i);
    context.specs[id] = confusionOf(context, context.runs[order[i]]);
    html += chartDiv(id);
  }
  html += "</div>\n";
  // Every run's matrix for the select, not drawn until chosen.
  Json choices = Json::object();
  html += "<p><label>Compare with: <select id=\"cm-select\">";
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::string key = fmt::format("cm-run-{}", i);
    choices[key] = confusionOf(context, context.runs[order[i]]);
    html += fmt::format("<option value=\"{}\"{}>{}</option>", key,
                        i == std::min(panels, order.size() - 1) ? " selected" : "",
                        escapeHtml(context.runs[order[i]].label));
  }
  html += "</select></label></p>\n";
  context.specs["chart-cm-pick"] =
      choices[fmt::format("cm-run-{}", std::min(panels, order.size() - 1))];
  html += chartDiv("chart-cm-pick") + "\n";
  html += "<script type=\"application/json\" id=\"ferlab-cm-choices\">" + scriptJson(choices) +
          "</script>\n";
  return html + "</section>\n";
}

}  // namespace ferlab::report::sections
