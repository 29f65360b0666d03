#include "framework/report/HtmlReport.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "framework/core/Errors.h"
#include "framework/core/Progress.h"
#include "framework/core/Provenance.h"
#include "framework/report/Charts.h"
#include "framework/report/Statistics.h"

namespace ferlab::report {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using tracking::EpochRecord;
using tracking::Prediction;
using tracking::RunRow;
using tracking::SplitMetrics;

// DESIGN.md, "Protocol: FER2013 splits": every report states it, so a reader knows the test
// columns were never used to choose anything.
constexpr const char* kProtocol =
    "Runs are selected on PublicTest (validation) only: early stopping, checkpoint choice and "
    "the choice of the best run use validation accuracy. PrivateTest (test) is evaluated once "
    "per run on the checkpoint chosen by validation, and never used for selection.";
constexpr const char* kMissing = "n/a";
constexpr const char* kValSplit = "PublicTest";
constexpr const char* kTestSplit = "PrivateTest";
constexpr const char* kSeedKey = "train.seed";
// Shown in the backbone column already, so never repeated as a varied-param column.
constexpr const char* kBackboneKey = "model.name";

// The chart libraries in the assets folder (scripts/install_report_assets.sh): one script
// that defines window.vegaEmbed, with Vega and Vega-Lite inside it, and their versions.
constexpr const char* kBundleFile = "vega-bundle.js";
constexpr const char* kBundleVersionsFile = "vega-bundle.json";
// The libraries in the bundle, as vega-bundle.json names them, for the provenance section.
constexpr const char* kBundledLibraries[] = {"vega", "vega-lite", "vega-embed"};

/// One run as the page shows it: the store row, its history, final metrics and test
/// predictions (sorted by sample index, so two runs on the same samples pair up).
struct ReportRun {
  RunRow row;
  std::vector<EpochRecord> epochs;
  std::vector<tracking::PhaseRecord> phases;
  std::vector<SplitMetrics> splits;
  std::vector<Prediction> test;
  std::string label;    ///< unique display name: the run name, plus the id when names collide
  std::string details;  ///< "key=value, ..." of the varied params, for tooltips
};

/// Everything the sections share.
struct Context {
  std::vector<ReportRun> runs;
  std::vector<std::string> varied;  ///< param keys that differ between runs (not model.name)
  bool backbone_varies = false;     ///< model.name differs (shown in its own column)
  std::vector<std::string> all_keys;
  int best = -1;  ///< index of the best run by validation accuracy, -1 when none is known
  std::vector<std::string> class_names;
  Json specs = Json::object();  ///< chart id -> Vega-Lite spec, drawn on load
  const ReportOptions* options = nullptr;
};

// The store uses -1 (and NaN) for "not recorded".
bool isKnown(double value) {
  return std::isfinite(value) && value >= 0;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
  return text;
}

// JSON for a <script> block. nlohmann escapes quotes and control characters but not "<",
// so a run named "</script>" would end the block: \u003c is the same string to JSON.parse.
// Invalid UTF-8 in user strings is replaced rather than thrown on.
std::string scriptJson(const Json& value) {
  const std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return replaceAll(text, "<", "\\u003c");
}

// True when `text` holds `word` at `at`, ignoring ASCII case (HTML tag names are
// case-insensitive: "</SCRIPT" ends a script as well).
bool hasWordAt(const std::string& text, std::size_t at, const std::string& word) {
  if (at + word.size() > text.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
  }
  return true;
}

// A minified library is inlined verbatim except for two things: the source-map comment
// (it would make developer tools fetch a file the page does not carry) and any "</script"
// or "<!--" (they would end or confuse the <script> element; "\x3C" is "<" inside the JS
// strings and regular expressions where such text can occur).
std::string inlineableScript(std::string code) {
  const std::size_t map = code.rfind("//# sourceMappingURL=");
  if (map != std::string::npos) code.erase(map);
  std::string safe;
  safe.reserve(code.size());
  for (std::size_t at = 0; at < code.size(); ++at) {
    const bool breaks_out =
        code[at] == '<' && (hasWordAt(code, at + 1, "/script") || hasWordAt(code, at + 1, "!--"));
    if (breaks_out) {
      safe += "\\x3C";
    } else {
      safe += code[at];
    }
  }
  return safe;
}

std::string readAsset(const std::string& assets_dir, const std::string& name) {
  const std::string path = assets_dir + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw DataError(fmt::format(
        "{} not found: run scripts/setup.sh (or scripts/install_report_assets.sh) to write the "
        "report's chart libraries",
        path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// vega-bundle.json: library -> version (and the vl-convert-python release that bundled
// them); an empty object when the file is missing or unreadable.
Json bundleVersions(const std::string& assets_dir) {
  std::ifstream in(assets_dir + "/" + kBundleVersionsFile);
  const Json versions = Json::parse(in, nullptr, false);
  return versions.is_object() ? versions : Json::object();
}

// versions[key] when it is a string, else "n/a".
std::string versionOf(const Json& versions, const std::string& key) {
  const auto found = versions.find(key);
  return found != versions.end() && found->is_string() ? found->get<std::string>() : kMissing;
}

// "vega 6.2.0, vega-lite 6.4.1, vega-embed 7.0.2".
std::string libraryVersions(const Json& versions) {
  std::string text;
  for (const char* library : kBundledLibraries) {
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", library, versionOf(versions, library));
  }
  return text;
}

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

std::string percentText(double fraction) {
  return isKnown(fraction) ? fmt::format("{:.2f}%", 100.0 * fraction) : kMissing;
}
std::string fractionText(double value) {
  return isKnown(value) ? fmt::format("{:.4f}", value) : kMissing;
}
std::string intervalText(const Interval& interval, bool percent) {
  if (percent) {
    return fmt::format("{:.2f}% [{:.2f}, {:.2f}]", 100 * interval.estimate, 100 * interval.low,
                       100 * interval.high);
  }
  return fmt::format("{:.4f} [{:.4f}, {:.4f}]", interval.estimate, interval.low, interval.high);
}
std::string pText(double p) {
  if (!std::isfinite(p)) return kMissing;
  return p < 1e-4 ? fmt::format("{:.1e}", p) : fmt::format("{:.4f}", p);
}

// A table cell whose data-sort carries the raw number ("" when unknown, sorted last).
std::string numberCell(double value, const std::string& text, bool known) {
  const std::string sort = known ? fmt::format("{}", value) : "";
  return fmt::format("<td class=\"num\" data-sort=\"{}\">{}</td>", sort, escapeHtml(text));
}
std::string numberCell(double value, const std::string& text) {
  return numberCell(value, text, isKnown(value));
}

std::string textCell(const std::string& text, const std::string& title = "",
                     const std::string& css_class = "") {
  const std::string shown = text.empty() ? kMissing : text;
  const std::string title_attr = title.empty() ? "" : " title=\"" + escapeHtml(title) + "\"";
  const std::string class_attr = css_class.empty() ? "" : " class=\"" + css_class + "\"";
  return fmt::format("<td{} data-sort=\"{}\"{}>{}</td>", class_attr, escapeHtml(text), title_attr,
                     escapeHtml(shown));
}

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

// ---------------------------------------------------------------------------------------
// Loading

void assignLabels(std::vector<ReportRun>& runs) {
  std::map<std::string, int> uses;
  for (const ReportRun& run : runs) ++uses[run.row.record.name];
  for (ReportRun& run : runs) {
    const tracking::RunRecord& record = run.row.record;
    run.label =
        uses[record.name] > 1 ? fmt::format("{} ({})", record.name, record.id) : record.name;
  }
}

// Keys whose value differs between at least two shown runs (a key one run lacks differs);
// constant keys would only repeat the same value in every row.
std::vector<std::string> variedParamKeys(const std::vector<ReportRun>& runs,
                                         std::vector<std::string>* all_keys) {
  std::map<std::string, std::set<std::string>> values;
  std::map<std::string, std::size_t> holders;
  for (const ReportRun& run : runs) {
    for (const auto& [key, value] : run.row.record.params) {
      values[key].insert(value);
      ++holders[key];
    }
  }
  std::vector<std::string> keys;
  for (const auto& [key, distinct] : values) {
    if (key == kBackboneKey) continue;
    all_keys->push_back(key);
    if (distinct.size() > 1 || holders[key] < runs.size()) keys.push_back(key);
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
    std::sort(run.test.begin(), run.test.end(), [](const Prediction& a, const Prediction& b) {
      return a.sample_index < b.sample_index;
    });
    run.row = std::move(row);
    context.runs.push_back(std::move(run));
  }
  assignLabels(context.runs);
  context.varied = variedParamKeys(context.runs, &context.all_keys);
  std::set<std::string> backbones;
  for (const ReportRun& run : context.runs) backbones.insert(run.row.record.backbone);
  context.backbone_varies = backbones.size() > 1;
  for (ReportRun& run : context.runs) {
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

// ---------------------------------------------------------------------------------------
// Header and summary

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

const std::vector<std::pair<std::string, std::string>>& sectionTitles() {
  static const std::vector<std::pair<std::string, std::string>> titles = {
      {"summary", "1 Summary"},
      {"runs", "2 Runs"},
      {"curves", "3 Learning curves"},
      {"effects", "4 Effects"},
      {"per-class", "5 Per-class"},
      {"significance", "6 Significance"},
      {"seeds", "7 Seeds"},
      {"errors", "8 Errors gallery"},
      {"provenance", "9 Provenance"}};
  return titles;
}

std::string openSection(const std::string& id) {
  for (const auto& [section, title] : sectionTitles()) {
    if (section == id) return fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", id, title);
  }
  return fmt::format("<section id=\"{}\">\n", id);
}

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
  html += fmt::format("<dt>Validation (PublicTest) accuracy</dt><dd>{} at epoch {}</dd>\n",
                      percentText(summary.best_val_accuracy),
                      summary.best_epoch > 0 ? std::to_string(summary.best_epoch) : kMissing);
  html += fmt::format("<dt>Test (PrivateTest) accuracy, 95% CI</dt><dd>{}</dd>\n",
                      escapeHtml(test_accuracy));
  html +=
      fmt::format("<dt>Test (PrivateTest) macro-F1, 95% CI</dt><dd>{}</dd>\n", escapeHtml(test_f1));
  html += "</dl>\n";
  html += fmt::format(
      "<p>How it was selected: of the {} selected run{}, {} recorded a validation accuracy; the "
      "run with the highest PublicTest accuracy of its selected checkpoint is reported as best. "
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
    html += numberCell(summary.test_accuracy, percentText(summary.test_accuracy));
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

// ---------------------------------------------------------------------------------------
// Learning curves and effects

std::string chartDiv(const std::string& id) {
  return fmt::format("<div class=\"chart\" id=\"{}\"></div>", id);
}

std::string renderCurves(Context& context) {
  std::string html = openSection("curves");
  std::vector<CurveRun> curves;
  std::string missing;
  for (const ReportRun& run : context.runs) {
    if (run.epochs.empty()) {
      missing += (missing.empty() ? "" : ", ") + escapeHtml(run.label);
      continue;
    }
    curves.push_back({run.label, run.row.record.id, run.details, run.epochs, run.phases});
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
      "run's value when n = 1). Runs without a validation accuracy are left out.</p>\n";
  int charts = 0;
  std::string divs;
  std::vector<std::string> keys = context.varied;
  if (context.backbone_varies) keys.push_back(kBackboneKey);
  for (const std::string& key : keys) {
    std::map<std::string, std::vector<double>> groups;
    for (const ReportRun& run : context.runs) {
      const double val = run.row.summary.best_val_accuracy;
      if (!isKnown(val)) continue;
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

// ---------------------------------------------------------------------------------------
// Per-class

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

// ---------------------------------------------------------------------------------------
// Significance

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

// ---------------------------------------------------------------------------------------
// Seeds

std::string renderSeeds(const Context& context) {
  std::string html = openSection("seeds");
  // Runs with the same experiment and the same params except train.seed form a group.
  std::map<std::string, std::vector<const ReportRun*>> groups;
  std::vector<std::string> group_order;
  for (const ReportRun& run : context.runs) {
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

// ---------------------------------------------------------------------------------------
// Errors gallery

std::string base64Png(const cv::Mat& image) {
  std::vector<unsigned char> png;
  if (!cv::imencode(".png", image, png)) return "";
  return base64Encode(std::string(png.begin(), png.end()));
}

// Where the run's data lives: data.path of its resolved config, relative to the working
// directory like `ferlab run` reads it, else to the source tree (reports made elsewhere).
std::optional<fs::path> dataPathOf(const tracking::RunRecord& record, std::string* format) {
  const Json config = Json::parse(record.config_json, nullptr, false);
  if (config.is_discarded() || !config.contains("data") || !config["data"].is_object()) {
    return std::nullopt;
  }
  const Json& data = config["data"];
  if (!data.contains("path") || !data["path"].is_string()) return std::nullopt;
  *format = data.contains("format") && data["format"].is_string()
                ? data["format"].get<std::string>()
                : "";
  const fs::path path = data["path"].get<std::string>();
  std::error_code error;
  if (fs::exists(path, error) || path.is_absolute()) return path;
  const fs::path in_source = fs::path(FERLAB_SOURCE_DIR) / path;
  if (fs::exists(in_source, error)) return in_source;
  return path;
}

// sample_id is Fer2013Reader's: the image's '/'-separated path under the data folder, or
// "<file>.csv:<line>" for the challenge CSV (line 1 = header, 2304 grey values row-major).
std::map<std::string, cv::Mat> loadImages(const fs::path& data_path,
                                          const std::vector<std::string>& ids) {
  std::map<std::string, cv::Mat> images;
  std::map<std::size_t, std::string> csv_lines;  // line -> sample id
  for (const std::string& id : ids) {
    const std::size_t colon = id.rfind(':');
    const bool csv_id = colon != std::string::npos && id.size() > colon + 1 &&
                        std::all_of(id.begin() + colon + 1, id.end(), [](char c) {
                          return std::isdigit(static_cast<unsigned char>(c));
                        });
    if (csv_id) {
      csv_lines[std::stoul(id.substr(colon + 1))] = id;
      continue;
    }
    const fs::path file = data_path / id;
    std::error_code error;
    if (!fs::is_regular_file(file, error)) continue;  // reported in the page as missing
    const cv::Mat image = cv::imread(file.string(), cv::IMREAD_GRAYSCALE);
    if (!image.empty()) images[id] = image;
  }
  if (csv_lines.empty()) return images;
  std::error_code error;
  const fs::path csv = fs::is_directory(data_path, error) ? fs::path() : data_path;
  std::ifstream in(csv);
  std::string line;
  for (std::size_t number = 1; in && std::getline(in, line) && number <= csv_lines.rbegin()->first;
       ++number) {
    const auto wanted = csv_lines.find(number);
    if (wanted == csv_lines.end()) continue;
    // The pixels are the one field of 2304 space-separated numbers.
    std::stringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) {
      field.erase(std::remove(field.begin(), field.end(), '"'), field.end());
      if (std::count(field.begin(), field.end(), ' ') < 100) continue;
      std::istringstream values(field);
      std::vector<unsigned char> pixels;
      int value = 0;
      while (values >> value) pixels.push_back(static_cast<unsigned char>(value));
      const int side = static_cast<int>(std::lround(std::sqrt(pixels.size())));
      if (side * side != static_cast<int>(pixels.size())) break;
      images[wanted->second] = cv::Mat(side, side, CV_8UC1, pixels.data()).clone();
      break;
    }
  }
  return images;
}

std::string renderErrors(const Context& context) {
  std::string html = openSection("errors");
  if (context.best < 0 || context.runs[context.best].test.empty()) {
    return html + "<p>n/a: the best run has no stored PrivateTest predictions.</p>\n</section>\n";
  }
  const ReportRun& best = context.runs[context.best];
  std::vector<const Prediction*> mistakes;
  for (const Prediction& p : best.test) {
    if (p.predicted != p.label) mistakes.push_back(&p);
  }
  const auto confidence = [](const Prediction* p) {
    const auto index = static_cast<std::size_t>(p->predicted);
    return index < p->probabilities.size() ? static_cast<double>(p->probabilities[index]) : -1.0;
  };
  std::stable_sort(mistakes.begin(), mistakes.end(), [&](const Prediction* a, const Prediction* b) {
    return confidence(a) > confidence(b);
  });
  mistakes.resize(std::min(mistakes.size(),
                           static_cast<std::size_t>(std::max(0, context.options->gallery_size))));
  if (mistakes.empty()) return html + "<p>The best run made no test mistakes.</p>\n</section>\n";
  std::string format;
  const std::optional<fs::path> data_path = dataPathOf(best.row.record, &format);
  std::vector<std::string> ids;
  for (const Prediction* p : mistakes) ids.push_back(p->sample_id);
  const std::map<std::string, cv::Mat> images =
      data_path ? loadImages(*data_path, ids) : std::map<std::string, cv::Mat>{};
  const auto className = [&](std::int64_t index) {
    return index >= 0 && static_cast<std::size_t>(index) < context.class_names.size()
               ? context.class_names[index]
               : std::to_string(index);
  };
  int missing = 0;
  html += fmt::format(
      "<p class=\"hint\">The {} most confident PrivateTest mistakes of the best run <strong>{}"
      "</strong>, most confident first: the original image (before any alignment or "
      "augmentation), true and predicted class, and the softmax probability of the predicted "
      "class. Images read from <code>{}</code>.</p>\n<div class=\"gallery\">\n",
      mistakes.size(), escapeHtml(best.label),
      escapeHtml(data_path ? data_path->string() : std::string(kMissing)));
  for (const Prediction* p : mistakes) {
    const auto found = images.find(p->sample_id);
    const std::string encoded = found == images.end() ? "" : base64Png(found->second);
    std::string picture;
    if (encoded.empty()) {
      ++missing;
      picture = "<div class=\"noimage\">image not found</div>";
    } else {
      picture = "<img alt=\"" + escapeHtml(p->sample_id) + "\" src=\"data:image/png;base64," +
                encoded + "\">";
    }
    const double c = confidence(p);
    html += fmt::format(
        "<figure title=\"{}\">{}<figcaption>true <b>{}</b><br>predicted <b>{}</b><br>{}"
        "</figcaption></figure>\n",
        escapeHtml(p->sample_id), picture, escapeHtml(className(p->label)),
        escapeHtml(className(p->predicted)),
        c >= 0 ? fmt::format("confidence {:.1f}%", 100 * c) : std::string("confidence n/a"));
  }
  html += "</div>\n";
  if (missing > 0) {
    html += fmt::format(
        "<p class=\"warning\">{} of {} images were not found under the run's data.path; "
        "each is shown as an empty box.</p>\n",
        missing, mistakes.size());
  }
  return html + "</section>\n";
}

// ---------------------------------------------------------------------------------------
// Provenance

std::string alignmentText(const tracking::AlignmentCounts& counts) {
  if (counts.aligned < 0 && counts.face_only < 0 && counts.none < 0) return "not applicable";
  const auto part = [](std::int64_t n) {
    return n < 0 ? std::string(kMissing) : std::to_string(n);
  };
  return fmt::format("{} aligned, {} face only, {} no face", part(counts.aligned),
                     part(counts.face_only), part(counts.none));
}

std::string renderProvenance(const Context& context, const Json& versions) {
  std::string html = openSection("provenance");
  html += fmt::format("<p class=\"protocol\"><strong>Protocol.</strong> {}</p>\n",
                      escapeHtml(kProtocol));
  html += fmt::format(
      "<p class=\"hint\">Charts drawn with {} (inlined; bundled by vl-convert-python {}).</p>\n",
      escapeHtml(libraryVersions(versions)), escapeHtml(versionOf(versions, "vl-convert-python")));
  if (context.runs.empty()) return html + "</section>\n";
  html +=
      "<div class=\"scroll\"><table id=\"provenance-table\" class=\"sortable\">\n<thead><tr>"
      "<th>id</th><th>name</th><th>config hash</th><th>git commit</th><th>ferlab</th>"
      "<th>torch</th><th>opencv</th><th>device</th><th>precision</th><th>dataset cache key</th>"
      "<th>alignment</th><th>pretrained</th><th>started</th><th>ended</th></tr></thead>\n"
      "<tbody>\n";
  for (const ReportRun& run : context.runs) {
    const tracking::RunRecord& r = run.row.record;
    const std::string pretrained =
        r.pretrained < 0 ? "not applicable" : (r.pretrained == 1 ? "yes" : "no (random init)");
    html += "<tr>" + textCell(r.id) + textCell(run.label, r.error) + textCell(r.config_hash) +
            textCell(r.git_commit) + textCell(r.ferlab_version) + textCell(r.torch_version) +
            textCell(r.opencv_version) + textCell(r.device) + textCell(r.precision) +
            textCell(r.dataset_key) + textCell(alignmentText(r.alignment)) + textCell(pretrained) +
            textCell(r.started_at) + textCell(r.ended_at) + "</tr>\n";
  }
  return html + "</tbody>\n</table></div>\n</section>\n";
}

// ---------------------------------------------------------------------------------------
// Page

constexpr const char* kStyle = R"CSS(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #222; }
h1 { margin-bottom: 0.2rem; }
h2 { border-bottom: 2px solid #4c78a8; padding-bottom: 0.2rem; margin-top: 2.5rem; }
nav a { margin-right: 0.8rem; font-size: 0.9rem; }
.meta, .hint { color: #555; font-size: 0.9rem; max-width: 75rem; }
.protocol { background: #f3f6fa; border-left: 4px solid #4c78a8; padding: 0.6rem 0.8rem; }
.warning { color: #a33; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: 0.3rem 1rem; }
dl.summary dt { font-weight: 600; }
dl.summary dd { margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; white-space: nowrap; }
th { cursor: pointer; user-select: none; background: #fafafa; }
th[aria-sort=ascending]::after { content: " \25B2"; }
th[aria-sort=descending]::after { content: " \25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table:not(.show-all) .const { display: none; }
tr.status-failed td { color: #a33; }
tr.status-running td, tr.status-queued td { color: #777; }
.charts { display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }
.gallery { display: flex; flex-wrap: wrap; gap: 0.8rem; }
.gallery figure { margin: 0; width: 110px; font-size: 0.75rem; text-align: center; }
.gallery img, .gallery .noimage { width: 96px; height: 96px; image-rendering: pixelated; }
.gallery .noimage { display: flex; align-items: center; justify-content: center; background: #eee; color: #777; margin: auto; }
)CSS";

// Sorting: numbers numerically, text alphabetically, unknown values last in both directions.
// Charts: every spec of ferlab-specs into the element of the same id, SVG renderer (the
// browser test counts the drawn marks); document.body.dataset.charts turns "done" (or
// "failed") when all have settled and window.ferlabRenderMs holds the time they took.
constexpr const char* kScript = R"JS(
(function () {
  document.querySelectorAll('table.sortable').forEach(table => {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach((th, column) => th.addEventListener('click', () => {
      const ascending = th.getAttribute('aria-sort') !== 'ascending';
      headers.forEach(other => other.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      const numeric = th.dataset.type === 'num';
      const body = table.tBodies[0];
      const key = row => row.cells[column].dataset.sort || '';
      Array.from(body.rows).sort((a, b) => {
        const x = key(a), y = key(b);
        if (x === '' || y === '') return (x === '') - (y === '');
        const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return ascending ? order : -order;
      }).forEach(row => body.appendChild(row));
    }));
  });
  const toggle = document.getElementById('show-all-params');
  if (toggle) toggle.addEventListener('change', () =>
    document.getElementById('runs-table').classList.toggle('show-all', toggle.checked));
  const options = {mode: 'vega-lite', actions: false, renderer: 'svg'};
  const draw = (id, spec) => vegaEmbed('#' + id, spec, options).catch(error => {
    document.getElementById(id).textContent = 'Chart failed: ' + error;
    console.error('chart ' + id + ' failed: ' + error);
    throw error;
  });
  const choices = document.getElementById('ferlab-cm-choices');
  const select = document.getElementById('cm-select');
  if (choices && select) {
    const specs = JSON.parse(choices.textContent);
    select.addEventListener('change', () => draw('chart-cm-pick', specs[select.value]));
  }
  const started = performance.now();
  const specsBlock = document.getElementById('ferlab-specs');
  const specs = specsBlock ? JSON.parse(specsBlock.textContent) : {};
  Promise.all(Object.entries(specs).map(([id, spec]) => draw(id, spec))).then(() => {
    window.ferlabRenderMs = performance.now() - started;
    window.ferlabDoneAt = performance.now();  // since navigation start
    document.body.dataset.charts = 'done';
  }, () => { document.body.dataset.charts = 'failed'; });
})();
)JS";

// The bundle is a classic script whose top level declares short minified names (`const n`,
// `function t`, ...): run at the page's top level they would be globals that collide with
// any other script's. A function scope keeps them private; the bundle publishes what the
// page uses as window.vegaEmbed (its window.vega and window.vegaLite are null).
std::string renderLibraries(const std::string& assets_dir) {
  return fmt::format("<script>/* {} */\n(function () {{\n{}\n}})();\n</script>\n", kBundleFile,
                     inlineableScript(readAsset(assets_dir, kBundleFile)));
}

}  // namespace

std::string defaultReportAssetsDir() {
  const char* assets = std::getenv("FERLAB_REPORT_ASSETS");
  if (assets != nullptr && *assets != '\0') return assets;
  return std::string(FERLAB_SOURCE_DIR) + "/reports/assets";
}

std::string renderHtmlReport(const tracking::SqliteStore& store, const ReportOptions& options) {
  const std::string assets_dir =
      options.assets_dir.empty() ? defaultReportAssetsDir() : options.assets_dir;
  // Libraries first: a missing install fails before any store work.
  const std::string libraries = renderLibraries(assets_dir);
  const Json versions = bundleVersions(assets_dir);
  Context context = loadContext(store, options);

  std::string body = renderHeader(context);
  body += renderSummary(context);
  body += renderRunsTable(context);
  body += renderCurves(context);
  body += renderEffects(context);
  body += renderPerClass(context);
  body += renderSignificance(context);
  body += renderSeeds(context);
  body += renderErrors(context);
  body += renderProvenance(context, versions);

  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>" + escapeHtml(options.title) + "</title>\n";
  html += "<style>" + std::string(kStyle) + "</style>\n";
  html += "</head>\n<body>\n" + body;
  html += "<script type=\"application/json\" id=\"ferlab-specs\">" + scriptJson(context.specs) +
          "</script>\n";
  html += libraries;
  html += "<script>" + std::string(kScript) + "</script>\n";
  return html + "</body>\n</html>\n";
}

std::string escapeHtml(const std::string& text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::string base64Encode(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace ferlab::report
