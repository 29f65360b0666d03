// Section 6 "Significance": every run against the best one on the same PrivateTest samples
// (exact McNemar with Holm adjustment, paired-bootstrap accuracy difference), and the test
// accuracy of every run with its bootstrap interval.

#include "framework/report/ReportSections.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "framework/report/Charts.h"

namespace ferlab::report::sections {
namespace {

/// Calls `work(i)` for every i in [0, n) on every hardware thread. The report's bootstrap
/// intervals are independent and each is seeded on its own, so the page is identical whatever
/// the thread count; resampling is almost all of a large report's generation time. The first
/// exception a call throws is rethrown here once every thread has stopped.
template <typename Work>
void forEachIndexInParallel(std::size_t n, const Work& work) {
  const std::size_t threads =
      std::min<std::size_t>(n, std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  const auto worker = [&] {
    for (std::size_t i = next++; i < n; i = next++) {
      try {
        work(i);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& thread : pool) thread.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

std::string renderSignificance(Context& context) {
  std::string html = openSection("significance");
  if (context.best < 0 || context.runs[context.best].test.empty()) {
    return html + "<p>n/a: the best run has no stored PrivateTest predictions.</p>\n</section>\n";
  }
  const ReportOptions& options = *context.options;
  const ReportRun& best = context.runs[context.best];
  const auto labels = labelsOf(best.test);
  const auto best_predicted = predictedOf(best.test);
  struct Row {
    const ReportRun* run;
    std::optional<McNemarResult> mcnemar;
    std::optional<Interval> difference;
    std::string note;
  };
  std::vector<Row> rows;
  for (std::size_t i = 0; i < context.runs.size(); ++i) {
    if (static_cast<int>(i) == context.best) continue;
    const ReportRun& run = context.runs[i];
    Row row{&run, std::nullopt, std::nullopt, ""};
    if (run.test.empty()) {
      row.note = "no test predictions";
    } else if (!samePredictionSamples(best.test, run.test)) {
      row.note = "different test samples";
    }
    rows.push_back(std::move(row));
  }
  forEachIndexInParallel(rows.size(), [&](std::size_t i) {
    Row& row = rows[i];
    if (!row.note.empty()) return;
    const auto predicted = predictedOf(row.run->test);
    row.mcnemar = mcnemarExact(labels, best_predicted, predicted);
    row.difference = pairedBootstrapAccuracyDifference(
        labels, best_predicted, predicted, options.bootstrap_resamples, options.bootstrap_seed);
  });
  std::vector<double> p_values;
  for (const Row& row : rows) {
    if (row.mcnemar) p_values.push_back(row.mcnemar->p_value);
  }
  const std::vector<double> adjusted = holmAdjust(p_values);
  html += fmt::format(
      "<p class=\"hint\">Each run against the best run <strong>{}</strong> on the same "
      "PrivateTest samples. McNemar's exact test (McNemar 1947; binomial on the discordant "
      "pairs, as statsmodels <code>mcnemar(exact=True)</code>), p-values Holm-adjusted "
      "(Holm 1979) over the {} comparisons; the difference is best minus run in accuracy "
      "points with a 95% paired-bootstrap CI ({} resamples, seed {}). best only / run only: "
      "samples only that model classifies correctly.</p>\n",
      escapeHtml(best.label), p_values.size(), options.bootstrap_resamples, options.bootstrap_seed);
  html +=
      "<div class=\"scroll\"><table id=\"significance-table\" class=\"sortable\">\n<thead><tr>"
      "<th>run</th><th data-type=\"num\">val acc</th><th data-type=\"num\">test acc</th>"
      "<th data-type=\"num\">best &minus; run (95% CI)</th><th data-type=\"num\">best only</th>"
      "<th data-type=\"num\">run only</th><th data-type=\"num\">McNemar p</th>"
      "<th data-type=\"num\">Holm p</th><th>verdict</th></tr></thead>\n<tbody>\n";
  std::size_t next = 0;
  for (const Row& row : rows) {
    const tracking::RunSummary& summary = row.run->row.summary;
    html += "<tr>" + textCell(row.run->label, row.run->row.record.id);
    html += numberCell(summary.best_val_accuracy, percentText(summary.best_val_accuracy));
    html += numberCell(summary.test_accuracy, percentText(summary.test_accuracy));
    if (!row.mcnemar) {
      for (int i = 0; i < 5; ++i) html += numberCell(0, kMissing, false);
      html += textCell(row.note);
    } else {
      const double p_holm = adjusted[next++];
      const Interval& d = *row.difference;
      html += numberCell(
          d.estimate,
          fmt::format("{:+.2f} [{:+.2f}, {:+.2f}]", 100 * d.estimate, 100 * d.low, 100 * d.high),
          true);
      html += numberCell(row.mcnemar->a_only, std::to_string(row.mcnemar->a_only), true);
      html += numberCell(row.mcnemar->b_only, std::to_string(row.mcnemar->b_only), true);
      html += numberCell(row.mcnemar->p_value, pText(row.mcnemar->p_value), true);
      html += numberCell(p_holm, pText(p_holm), true);
      html += textCell(p_holm < 0.05 ? "differs (Holm p < 0.05)" : "not significant");
    }
    html += "</tr>\n";
  }
  html += "</tbody>\n</table></div>\n";
  // Test accuracy of every run with predictions, with its own bootstrap CI.
  std::vector<std::optional<Interval>> intervals(context.runs.size());
  forEachIndexInParallel(context.runs.size(), [&](std::size_t i) {
    const ReportRun& run = context.runs[i];
    if (run.test.empty()) return;
    intervals[i] = bootstrapAccuracy(labelsOf(run.test), predictedOf(run.test),
                                     options.bootstrap_resamples, options.bootstrap_seed);
  });
  std::vector<ComparisonPoint> points;
  for (std::size_t i = 0; i < context.runs.size(); ++i) {
    if (!intervals[i]) continue;
    points.push_back(
        {context.runs[i].label, intervals[i]->estimate, intervals[i]->low, intervals[i]->high});
  }
  context.specs["chart-test-accuracy"] = comparisonSpec(points, "PrivateTest accuracy");
  html +=
      "<p class=\"hint\">PrivateTest accuracy per run with 95% bootstrap CIs (reported, "
      "never used to choose).</p>\n" +
      chartDiv("chart-test-accuracy") + "\n";
  return html + "</section>\n";
}

}  // namespace ferlab::report::sections
