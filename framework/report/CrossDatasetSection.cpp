// Section 9 "Cross-dataset": the runs' cross-dataset evaluations (`ferlab evaluate`, the
// selected checkpoint on another dataset): one table row per evaluation, then row-normalised
// confusion matrices, dataset classes against every model class.

#include "framework/report/ReportSections.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "framework/report/Charts.h"

namespace ferlab::report::sections {
namespace {

// Confusion matrices drawn at most; the table lists every evaluation, `ferlab show` prints
// every matrix.
constexpr std::size_t kMaxMatrices = 12;

struct Shown {
  const ReportRun* run;
  const tracking::EvaluationRecord* evaluation;
};

std::string keptClasses(const tracking::EvaluationRecord& e) {
  std::string list;
  for (const tracking::ClassMetrics& m : e.class_metrics)
    list += (list.empty() ? "" : ", ") + m.name;
  return list;
}

std::string rowOf(const Shown& shown) {
  const tracking::EvaluationRecord& e = *shown.evaluation;
  std::string html = "<tr>";
  html += textCell(shown.run->label, shown.run->details);
  html += textCell(e.dataset, e.dataset_path + " (content " + e.content_hash + ")");
  html += textCell(e.format);
  html += numberCell(static_cast<double>(e.images), std::to_string(e.images));
  html += textCell(keptClasses(e),
                   e.dropped_images > 0
                       ? fmt::format("{} images of dropped classes not evaluated", e.dropped_images)
                       : "");
  html += numberCell(e.accuracy, percentText(e.accuracy));
  html += numberCell(e.restricted_accuracy, percentText(e.restricted_accuracy));
  html += numberCell(e.macro_f1, fractionText(e.macro_f1));
  return html + "</tr>\n";
}

}  // namespace

std::string renderCrossDataset(Context& context) {
  std::string html = openSection("cross-dataset");
  // The best run (by validation accuracy) first, then store order; datasets by name.
  std::vector<Shown> shown;
  std::vector<int> order;
  if (context.best >= 0) order.push_back(context.best);
  for (int i = 0; i < static_cast<int>(context.runs.size()); ++i) {
    if (i != context.best) order.push_back(i);
  }
  for (const int i : order) {
    for (const tracking::EvaluationRecord& e : context.runs[i].evaluations)
      shown.push_back({&context.runs[i], &e});
  }
  if (shown.empty()) {
    return html +
           "<p>No run has been evaluated on another dataset (<code>ferlab evaluate --run RUN "
           "--data PATH</code>).</p>\n</section>\n";
  }
  html +=
      "<p>Each run's selected checkpoint (chosen on PublicTest) on other datasets, prepared "
      "like its training data, with the dataset's classes mapped to the model's. Accuracy takes "
      "the argmax over all of the model's classes, so predicting a class the dataset lacks is "
      "an error; restricted accuracy takes it over the dataset's classes only. Macro-F1 "
      "averages over the dataset's classes.</p>\n";
  html +=
      "<div class=\"scroll\"><table class=\"sortable\"><thead><tr><th>Run</th><th>Dataset</th>"
      "<th>Format</th><th>Images</th><th>Classes kept</th><th>Accuracy</th>"
      "<th>Restricted accuracy</th><th>Macro-F1</th></tr></thead><tbody>\n";
  for (const Shown& s : shown) html += rowOf(s);
  html += "</tbody></table></div>\n";

  const std::size_t drawn = std::min(shown.size(), kMaxMatrices);
  html += fmt::format(
      "<h3>Confusion matrices</h3>\n<p class=\"hint\">Rows: the dataset's classes (as mapped), "
      "columns: every model class, each row divided by its total.{}</p>\n<div class=\"charts\">",
      drawn < shown.size()
          ? fmt::format(" The first {} of {} evaluations; <code>ferlab show RUN</code> prints "
                        "every one.",
                        drawn, shown.size())
          : std::string());
  for (std::size_t i = 0; i < drawn; ++i) {
    const tracking::EvaluationRecord& e = *shown[i].evaluation;
    std::vector<std::string> rows;
    for (const tracking::ClassMetrics& m : e.class_metrics) rows.push_back(m.name);
    const std::string id = fmt::format("chart-cross-{}", i);
    context.specs[id] = confusionMatrixSpec(fmt::format("{} on {}", shown[i].run->label, e.dataset),
                                            rows, e.class_names, e.confusion, true, 30);
    html += chartDiv(id);
  }
  return html + "</div>\n</section>\n";
}

}  // namespace ferlab::report::sections
