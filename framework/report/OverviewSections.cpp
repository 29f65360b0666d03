// The top of the report: the page header (title, run count, experiments, commits, section
// links, the protocol), section 1 "Summary" (the best run and its test intervals) and
// section 2 "Runs" (the sortable table of every selected run).

#include "framework/report/ReportSections.h"

#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "framework/config/ConfigLoader.h"
#include "framework/core/Progress.h"
#include "framework/core/Provenance.h"

namespace ferlab::report::sections {
namespace {

std::string commitSummary(const std::vector<ReportRun>& runs) {
  std::vector<std::pair<std::string, int>> commits;
  for (const ReportRun& run : runs) {
    const std::string& commit = run.row.record.git_commit;
    const std::string shown = commit.empty() ? "unknown" : commit;
    auto it = std::find_if(commits.begin(), commits.end(),
                           [&](const auto& entry) { return entry.first == shown; });
    if (it == commits.end()) {
      commits.emplace_back(shown, 1);
    } else {
      ++it->second;
    }
  }
  if (commits.empty()) return std::string("git commit: ") + kMissing;
  std::string text = commits.size() == 1 ? "git commit: " : "git commits: ";
  for (std::size_t i = 0; i < commits.size(); ++i) {
    const auto& [commit, count] = commits[i];
    text += fmt::format("{}<code>{}</code>", i == 0 ? "" : ", ", escapeHtml(commit));
    if (commits.size() > 1) text += fmt::format(" ({} run{})", count, count == 1 ? "" : "s");
  }
  return text;
}

std::string experimentSummary(const std::vector<ReportRun>& runs) {
  std::set<std::string> experiments;
  for (const ReportRun& run : runs) experiments.insert(run.row.record.experiment);
  if (experiments.empty()) return std::string("experiment: ") + kMissing;
  std::string text = experiments.size() == 1 ? "experiment: " : "experiments: ";
  for (auto it = experiments.begin(); it != experiments.end(); ++it) {
    text += (it == experiments.begin() ? "" : ", ") + escapeHtml(*it);
  }
  return text;
}

}  // namespace

std::string renderHeader(const Context& context) {
  const auto& runs = context.runs;
  std::string nav;
  for (const auto& [id, title] : sectionTitles()) {
    nav += fmt::format("<a href=\"#{}\">{}</a> ", id, title);
  }
  return fmt::format(
      "<header>\n<h1>{}</h1>\n<p class=\"meta\">Generated {} &middot; {} run{} &middot; {} "
      "&middot; {}</p>\n<nav>{}</nav>\n</header>\n<p class=\"protocol\"><strong>Protocol."
      "</strong> {}</p>\n",
      escapeHtml(context.options->title), escapeHtml(core::utcNowIso8601()), runs.size(),
      runs.size() == 1 ? "" : "s", experimentSummary(runs), commitSummary(runs), nav,
      escapeHtml(kProtocol));
}

std::string renderSummary(const Context& context) {
  std::string html = openSection("summary");
  if (context.runs.empty()) return html + "<p>No runs match the selection.</p>\n</section>\n";
  if (context.best < 0) {
    return html +
           "<p>No run has a validation accuracy yet, so no best run can be chosen.</p>\n"
           "</section>\n";
  }
  const ReportRun& best = context.runs[context.best];
  const tracking::RunSummary& summary = best.row.summary;
  int candidates = 0;
  for (const ReportRun& run : context.runs) {
    if (isKnown(run.row.summary.best_val_accuracy)) ++candidates;
  }
  const ReportOptions& options = *context.options;
  std::string test_accuracy = kMissing, test_f1 = kMissing;
  if (!best.test.empty()) {
    const auto labels = labelsOf(best.test);
    const auto predicted = predictedOf(best.test);
    test_accuracy = intervalText(
        bootstrapAccuracy(labels, predicted, options.bootstrap_resamples, options.bootstrap_seed),
        true);
    test_f1 = intervalText(
        bootstrapMacroF1(labels, predicted, static_cast<int>(context.class_names.size()),
                         options.bootstrap_resamples, options.bootstrap_seed),
        false);
  } else if (isKnown(summary.test_accuracy)) {
    test_accuracy = percentText(summary.test_accuracy) + " (no stored predictions: no CI)";
    test_f1 = fractionText(summary.test_macro_f1) + " (no stored predictions: no CI)";
  }
  html += "<dl class=\"summary\">\n";
  html +=
      fmt::format("<dt>Best run</dt><dd><strong>{}</strong> <code>{}</code> ({})</dd>\n",
                  escapeHtml(best.label), escapeHtml(best.row.record.id), escapeHtml(best.details));
  if (best.ensemble()) {
    html += fmt::format(
        "<dt>Validation (PublicTest) accuracy</dt><dd>{} (an ensemble of {} run{}: its members "
        "and weights were chosen on PublicTest, so this value is optimistic)</dd>\n",
        percentText(summary.best_val_accuracy), best.members.size(),
        best.members.size() == 1 ? "" : "s");
  } else {
    html += fmt::format("<dt>Validation (PublicTest) accuracy</dt><dd>{} at epoch {}</dd>\n",
                        percentText(summary.best_val_accuracy),
                        summary.best_epoch > 0 ? std::to_string(summary.best_epoch) : kMissing);
  }
  if (const double eval_subset = config::evalSubsetOf(best.row.record.config_json);
      eval_subset < 1.0) {
    test_accuracy += fmt::format(
        " (NOT COMPARABLE with published results: PrivateTest thinned to {:g}, data.eval_subset)",
        eval_subset);
  }
  html += fmt::format("<dt>Test (PrivateTest) accuracy, 95% CI</dt><dd>{}</dd>\n",
                      escapeHtml(test_accuracy));
  html +=
      fmt::format("<dt>Test (PrivateTest) macro-F1, 95% CI</dt><dd>{}</dd>\n", escapeHtml(test_f1));
  html += "</dl>\n";
  html += fmt::format(
      "<p>How it was selected: of the {} selected run{}, {} recorded a validation accuracy; the "
      "run with the highest PublicTest accuracy of its selected checkpoint (for an ensemble: of "
      "its averaged probabilities) is reported as best. "
      "Its PrivateTest accuracy and macro-F1 were computed once on that checkpoint and played "
      "no part in the choice. The intervals are 95% percentile-bootstrap intervals (Efron &amp; "
      "Tibshirani 1993) over the {} stored per-sample test predictions, {} resamples, seed "
      "{}.</p>\n",
      context.runs.size(), context.runs.size() == 1 ? "" : "s", candidates, best.test.size(),
      options.bootstrap_resamples, options.bootstrap_seed);
  return html + "</section>\n";
}

// ---------------------------------------------------------------------------------------
// Runs table

std::string renderRunsTable(const Context& context) {
  std::string html = openSection("runs");
  if (context.runs.empty()) return html + "<p>No runs match.</p>\n</section>\n";
  std::set<std::string> varied(context.varied.begin(), context.varied.end());
  html +=
      "<p class=\"hint\">Click a column header to sort. Validation is PublicTest accuracy of "
      "the selected checkpoint; test columns are PrivateTest on that checkpoint. Only params "
      "that differ between the runs are shown: <label><input type=\"checkbox\" "
      "id=\"show-all-params\"> show all params</label></p>\n<div class=\"scroll\">"
      "<table id=\"runs-table\" class=\"sortable\">\n<thead><tr>";
  const auto column = [&](const std::string& title, bool numeric, const std::string& css = "") {
    html += fmt::format("<th{}{}>{}</th>", numeric ? " data-type=\"num\"" : "",
                        css.empty() ? "" : " class=\"" + css + "\"", escapeHtml(title));
  };
  column("id", false);
  column("name", false);
  column("status", false);
  column("backbone", false);
  for (const std::string& key : context.all_keys) {
    column(key, false, varied.count(key) ? "param" : "param const");
  }
  column("val acc", true);
  column("val macro-F1", true);
  column("best epoch", true);
  column("test acc", true);
  column("test macro-F1", true);
  column("images/s", true);
  column("duration", true);
  html += "</tr></thead>\n<tbody>\n";
  for (const ReportRun& run : context.runs) {
    const tracking::RunRecord& record = run.row.record;
    const tracking::RunSummary& summary = run.row.summary;
    const std::string status = tracking::statusName(record.status);
    html += fmt::format("<tr class=\"status-{}\">", escapeHtml(status));
    html += textCell(record.id);
    html += textCell(run.label, record.experiment);
    html += textCell(status, record.error);
    html += textCell(record.backbone);
    for (const std::string& key : context.all_keys) {
      const std::string* value = findParam(record, key);
      html += textCell(value ? *value : "", "", varied.count(key) ? "param" : "param const");
    }
    html += numberCell(summary.best_val_accuracy, percentText(summary.best_val_accuracy));
    html += numberCell(summary.best_val_macro_f1, fractionText(summary.best_val_macro_f1));
    html += numberCell(summary.best_epoch,
                       summary.best_epoch > 0 ? std::to_string(summary.best_epoch) : kMissing,
                       summary.best_epoch > 0);
    const bool thinned = config::evalSubsetOf(record.config_json) < 1.0;
    html += numberCell(summary.test_accuracy,
                       percentText(summary.test_accuracy) + (thinned ? " (thinned)" : ""));
    html += numberCell(summary.test_macro_f1, fractionText(summary.test_macro_f1));
    html += numberCell(summary.images_per_sec, isKnown(summary.images_per_sec)
                                                   ? fmt::format("{:.0f}", summary.images_per_sec)
                                                   : kMissing);
    html += numberCell(summary.duration_s, isKnown(summary.duration_s)
                                               ? core::formatDuration(summary.duration_s)
                                               : kMissing);
    html += "</tr>\n";
  }
  return html + "</tbody>\n</table></div>\n</section>\n";
}

}  // namespace ferlab::report::sections
