// The report's "Claimed vs obtained" section: the reproduction ledger (Ledger.h) of the
// experiments in the report, each claim next to FERLab's PrivateTest result and a verdict.

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "framework/report/Ledger.h"
#include "framework/report/ReportSections.h"

namespace ferlab::report::sections {
namespace {

std::string percentOrMissing(double fraction, bool known) {
  return known ? percentText(fraction) : kMissing;
}

std::string rowOf(const LedgerEntry& entry) {
  std::vector<std::string> notes;
  if (entry.thinned) notes.push_back("NOT COMPARABLE: thinned PrivateTest (data.eval_subset)");
  if (entry.random_init) notes.push_back("random initialisation, no ImageNet weights");
  if (entry.partial) {
    notes.push_back(
        fmt::format("partial: {} of their {} epochs", entry.epochs, entry.reference_epochs));
  }
  notes.insert(notes.end(), entry.differences.begin(), entry.differences.end());
  std::string list;
  for (const auto& note : notes) list += "<li>" + escapeHtml(note) + "</li>";
  std::string obtained = kMissing;
  if (entry.ensemble) {
    obtained = fmt::format("{} (ensemble; PublicTest {})", percentText(entry.test_accuracy.mean),
                           percentText(entry.val_accuracy));
  } else if (entry.finished == 1) {  // one run has no spread to show
    obtained = fmt::format("{} (1 of {} runs)", percentText(entry.test_accuracy.mean), entry.runs);
  } else if (entry.finished > 1) {
    obtained = fmt::format("{} ± {} ({} of {} runs)", percentText(entry.test_accuracy.mean),
                           percentText(entry.test_accuracy.std), entry.finished, entry.runs);
  }
  std::string html = "<tr>";
  html += entry.ensemble
              ? textCell(fmt::format("{} (ensemble {})", entry.run_name, entry.run_id),
                         "recorded in experiment " + entry.experiment)
              : textCell(entry.variant.empty() ? entry.experiment
                                               : entry.experiment + " (" + entry.variant + ")");
  html += textCell(entry.source, entry.protocol);
  html += numberCell(entry.claimed, percentOrMissing(entry.claimed, entry.claimed > 0),
                     entry.claimed > 0);
  html += numberCell(entry.test_accuracy.mean, obtained, entry.finished > 0);
  html += textCell(entry.has_interval ? intervalText(entry.mean_interval, true) : kMissing);
  html += textCell(verdictName(entry.verdict), "",
                   std::string("verdict ") + verdictName(entry.verdict));
  html += "<td><ul>" + list + "</ul></td>";
  return html + "</tr>\n";
}

}  // namespace

std::string renderLedger(const tracking::SqliteStore& store, const Context& context) {
  std::set<std::string> experiments, run_ids;
  for (const ReportRun& run : context.runs) {
    experiments.insert(run.row.record.experiment);
    run_ids.insert(run.row.record.id);
  }
  // An ensemble row belongs here when the ensemble is in the report, or when all the
  // experiments it combines are.
  const auto shown = [&](const LedgerEntry& entry) {
    if (!entry.ensemble) return experiments.count(entry.experiment) != 0;
    return run_ids.count(entry.run_id) != 0 ||
           std::all_of(entry.member_experiments.begin(), entry.member_experiments.end(),
                       [&](const std::string& e) { return experiments.count(e) != 0; });
  };
  std::vector<LedgerEntry> entries;
  for (LedgerEntry& entry :
       buildLedger(store, context.options->bootstrap_resamples, context.options->bootstrap_seed)) {
    if (shown(entry)) entries.push_back(std::move(entry));
  }
  std::string html = openSection("ledger");
  if (entries.empty()) {
    return html +
           "<p>No experiment in this report declares a <code>[reference]</code>: nothing to "
           "compare with a published result (see <code>experiments/reproduce/</code>).</p>\n"
           "</section>\n";
  }
  html += fmt::format(
      "<p>Each published claim next to FERLab's PrivateTest accuracy: the mean ± sd over the "
      "finished runs (seeds), with a 95% percentile-bootstrap interval of that mean (the "
      "PrivateTest images resampled jointly for every run, {} resamples). Reproduced means "
      "within ±{:.0f} points of the claim. Our runs select on PublicTest and report "
      "PrivateTest; the last column says how each differs from the source. Ensembles of these "
      "runs (ferlab ensemble, members and weights chosen on PublicTest) follow, best PublicTest "
      "first, with no claim of their own.</p>\n",
      context.options->bootstrap_resamples, 100 * kReproducedWithin);
  html +=
      "<div class=\"scroll\"><table class=\"sortable\"><thead><tr><th>Experiment</th><th>Reproduces"
      "</th><th>Claimed</th><th>Obtained (PrivateTest)</th><th>95% CI of the mean</th>"
      "<th>Verdict</th><th>How ours differs</th></tr></thead><tbody>\n";
  for (const LedgerEntry& entry : entries) html += rowOf(entry);
  return html + "</tbody></table></div>\n</section>\n";
}

}  // namespace ferlab::report::sections
