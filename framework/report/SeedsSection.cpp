// Section 7 "Seeds": runs that differ only by train.seed, as mean +- sample standard
// deviation of their validation and test accuracy.

#include "framework/report/ReportSections.h"

#include <map>

#include <fmt/format.h>

namespace ferlab::report::sections {
std::string renderSeeds(const Context& context) {
  std::string html = openSection("seeds");
  // Runs with the same experiment and the same params except train.seed form a group.
  std::map<std::string, std::vector<const ReportRun*>> groups;
  std::vector<std::string> group_order;
  for (const ReportRun& run : context.runs) {
    if (run.ensemble()) continue;  // no params, no seed: two ensembles are not seeds of one run
    std::string key = run.row.record.experiment + '\n';
    for (const auto& [name, value] : run.row.record.params) {
      if (name != kSeedKey) key += name + '=' + value + '\n';
    }
    if (groups[key].empty()) group_order.push_back(key);
    groups[key].push_back(&run);
  }
  std::string rows;
  int shown = 0;
  for (const std::string& key : group_order) {
    const auto& members = groups[key];
    if (members.size() < 2) continue;
    ++shown;
    std::vector<double> val, test;
    std::string seeds, names;
    for (const ReportRun* run : members) {
      if (isKnown(run->row.summary.best_val_accuracy))
        val.push_back(run->row.summary.best_val_accuracy);
      if (isKnown(run->row.summary.test_accuracy)) test.push_back(run->row.summary.test_accuracy);
      const std::string* seed = findParam(run->row.record, kSeedKey);
      seeds += (seeds.empty() ? "" : ", ") + (seed ? *seed : std::string(kMissing));
      names += (names.empty() ? "" : "\n") + run->label;
    }
    std::string shared;
    for (const std::string& param : context.varied) {
      if (param == kSeedKey) continue;
      const std::string* value = findParam(members.front()->row.record, param);
      shared += (shared.empty() ? "" : ", ") + param + "=" + (value ? *value : kMissing);
    }
    if (shared.empty()) shared = members.front()->row.record.experiment;
    const MeanStd v = meanStd(val), t = meanStd(test);
    const auto cell = [](const MeanStd& stats) {
      if (stats.n == 0) return numberCell(0, kMissing, false);
      return numberCell(
          stats.mean,
          fmt::format("{:.2f}% \u00b1 {:.2f} (n={})", 100 * stats.mean, 100 * stats.std, stats.n),
          true);
    };
    rows += "<tr>" + textCell(shared, names) + textCell(seeds) +
            numberCell(static_cast<double>(members.size()), std::to_string(members.size()), true) +
            cell(v) + cell(t) + "</tr>\n";
  }
  if (shown == 0) {
    return html + "<p>No runs differ only by <code>train.seed</code>.</p>\n</section>\n";
  }
  html +=
      "<p class=\"hint\">Runs that differ only by <code>train.seed</code>: mean &plusmn; sample "
      "standard deviation (n &minus; 1) over the runs with a value, n runs.</p>\n"
      "<table id=\"seeds-table\" class=\"sortable\">\n<thead><tr><th>group</th><th>seeds</th>"
      "<th data-type=\"num\">n</th><th data-type=\"num\">val acc</th>"
      "<th data-type=\"num\">test acc</th></tr></thead>\n<tbody>\n" +
      rows + "</tbody>\n</table>\n";
  return html + "</section>\n";
}

}  // namespace ferlab::report::sections
