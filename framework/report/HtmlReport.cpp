#include "framework/report/HtmlReport.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "framework/core/Errors.h"
#include "framework/core/Progress.h"
#include "framework/core/Provenance.h"

namespace ferlab::report {
namespace {

// Insertion-ordered so the emitted specs read in the order they were written.
using Json = nlohmann::ordered_json;
using tracking::EpochRecord;
using tracking::RunRow;

// DESIGN.md, "Protocol: FER2013 splits": every report states it, so a reader knows the test
// column was never used to choose anything.
constexpr const char* kProtocol =
    "Runs are selected on PublicTest (validation); PrivateTest (test) is evaluated once per run "
    "on the checkpoint chosen by validation, and never used for selection.";
constexpr const char* kMissing = "\u2014";  // em dash: value not recorded (yet)

// Shown in the backbone column already, so never repeated as a varied-param column.
constexpr const char* kBackboneKey = "model.name";

// The chart libraries, relative to the assets folder (node_modules layout), in load order:
// vega-lite needs the global `vega`, vega-embed needs both.
const std::vector<std::string>& chartLibraries() {
  static const std::vector<std::string> libraries = {"vega/build/vega.min.js",
                                                     "vega-lite/build/vega-lite.min.js",
                                                     "vega-embed/build/vega-embed.min.js"};
  return libraries;
}

/// One run as the page shows it: the store row, its epochs and its chart label.
struct ReportRun {
  RunRow row;
  std::vector<EpochRecord> epochs;
  std::string label;  ///< legend entry: the run name, plus the id when names collide
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

std::string readAsset(const std::string& assets_dir, const std::string& relative) {
  const std::string path = assets_dir + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw DataError(fmt::format(
        "{} not found: run scripts/setup.sh to install the report's chart libraries", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// With run_ids, exactly those runs (StoreError from getRun on an unknown or ambiguous id),
// each once, still restricted to `experiment` when both are given; otherwise every run of
// the experiment (or of the store).
std::vector<RunRow> selectRuns(const tracking::SqliteStore& store, const ReportOptions& options) {
  if (options.run_ids.empty()) return store.listRuns(options.experiment);
  std::vector<RunRow> rows;
  std::set<std::string> seen;
  for (const std::string& id : options.run_ids) {
    RunRow row = store.getRun(id);
    if (!options.experiment.empty() && row.record.experiment != options.experiment) continue;
    if (seen.insert(row.record.id).second) rows.push_back(std::move(row));
  }
  return rows;
}

// Run names are unique within an experiment but not across experiments; the legend (and the
// selection bound to it) needs unique labels.
void assignLabels(std::vector<ReportRun>& runs) {
  std::map<std::string, int> uses;
  for (const ReportRun& run : runs) ++uses[run.row.record.name];
  for (ReportRun& run : runs) {
    const tracking::RunRecord& record = run.row.record;
    run.label =
        uses[record.name] > 1 ? fmt::format("{} ({})", record.name, record.id) : record.name;
  }
}

std::vector<ReportRun> loadRuns(const tracking::SqliteStore& store, const ReportOptions& options) {
  std::vector<ReportRun> runs;
  for (RunRow& row : selectRuns(store, options)) {
    ReportRun run;
    run.epochs = store.epochs(row.record.id);
    run.row = std::move(row);
    runs.push_back(std::move(run));
  }
  assignLabels(runs);
  return runs;
}

const std::string* findParam(const tracking::RunRecord& record, const std::string& key) {
  for (const auto& [name, value] : record.params) {
    if (name == key) return &value;
  }
  return nullptr;
}

// Keys whose value differs between at least two shown runs (a key one run lacks differs);
// constant keys would only repeat the same value in every row.
std::vector<std::string> variedParamKeys(const std::vector<ReportRun>& runs) {
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
    if (distinct.size() > 1 || holders[key] < runs.size()) keys.push_back(key);
  }
  return keys;
}

std::string percentText(double fraction) {
  return isKnown(fraction) ? fmt::format("{:.2f}%", 100.0 * fraction) : kMissing;
}
std::string fractionText(double value) {
  return isKnown(value) ? fmt::format("{:.4f}", value) : kMissing;
}
std::string rateText(double images_per_sec) {
  return isKnown(images_per_sec) ? fmt::format("{:.0f}", images_per_sec) : kMissing;
}
std::string durationText(double seconds) {
  return isKnown(seconds) ? core::formatDuration(seconds) : kMissing;
}

// A table cell whose data-sort carries the raw number ("" when unknown, sorted last).
std::string numberCell(double value, const std::string& text) {
  const std::string sort = isKnown(value) ? fmt::format("{}", value) : "";
  return fmt::format("<td class=\"num\" data-sort=\"{}\">{}</td>", sort, escapeHtml(text));
}

std::string textCell(const std::string& text, const std::string& title = "") {
  const std::string shown = text.empty() ? kMissing : text;
  const std::string title_attr = title.empty() ? "" : " title=\"" + escapeHtml(title) + "\"";
  return fmt::format("<td data-sort=\"{}\"{}>{}</td>", escapeHtml(text), title_attr,
                     escapeHtml(shown));
}

// "git commits: abc123 (3 runs), def456 (1 run)": the commits the shown runs were trained
// from, in order of first appearance; a mix means the runs may not be comparable.
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

std::string renderHeader(const std::vector<ReportRun>& runs, const ReportOptions& options) {
  return fmt::format(
      "<header>\n<h1>{}</h1>\n<p class=\"meta\">Generated {} &middot; {} run{} &middot; {} "
      "&middot; {}</p>\n</header>\n<p class=\"protocol\"><strong>Protocol.</strong> {}</p>\n",
      escapeHtml(options.title), escapeHtml(core::utcNowIso8601()), runs.size(),
      runs.size() == 1 ? "" : "s", experimentSummary(runs), commitSummary(runs),
      escapeHtml(kProtocol));
}

std::string renderTableHead(const std::vector<std::string>& param_keys) {
  std::string head = "<thead><tr>";
  const auto column = [&](const std::string& title, bool numeric) {
    head += fmt::format("<th{}>{}</th>", numeric ? " data-type=\"num\"" : "", escapeHtml(title));
  };
  column("id", false);
  column("name", false);
  column("status", false);
  column("backbone", false);
  for (const std::string& key : param_keys) column(key, false);
  column("best val acc", true);
  column("test acc", true);
  column("test macro-F1", true);
  column("images/s", true);
  column("duration", true);
  return head + "</tr></thead>\n";
}

std::string renderTableRow(const ReportRun& run, const std::vector<std::string>& param_keys) {
  const tracking::RunRecord& record = run.row.record;
  const tracking::RunSummary& summary = run.row.summary;
  const std::string status = tracking::statusName(record.status);
  std::string row = fmt::format("<tr class=\"status-{}\">", escapeHtml(status));
  row += textCell(record.id);
  row += textCell(record.name, record.experiment);
  row += textCell(status, record.error);
  row += textCell(record.backbone);
  for (const std::string& key : param_keys) {
    const std::string* value = findParam(record, key);
    row += textCell(value ? *value : "");
  }
  row += numberCell(summary.best_val_accuracy, percentText(summary.best_val_accuracy));
  row += numberCell(summary.test_accuracy, percentText(summary.test_accuracy));
  row += numberCell(summary.test_macro_f1, fractionText(summary.test_macro_f1));
  row += numberCell(summary.images_per_sec, rateText(summary.images_per_sec));
  row += numberCell(summary.duration_s, durationText(summary.duration_s));
  return row + "</tr>\n";
}

std::string renderRunsTable(const std::vector<ReportRun>& runs) {
  if (runs.empty()) return "<section>\n<h2>Runs</h2>\n<p>No runs match.</p>\n</section>\n";
  const std::vector<std::string> param_keys = variedParamKeys(runs);
  std::string html =
      "<section>\n<h2>Runs</h2>\n<p class=\"hint\">Click a column header to sort. Best val "
      "acc is PublicTest accuracy of the selected checkpoint; test columns are PrivateTest on "
      "that checkpoint.</p>\n<table id=\"runs\">\n";
  html += renderTableHead(param_keys);
  html += "<tbody>\n";
  for (const ReportRun& run : runs) html += renderTableRow(run, param_keys);
  return html + "</tbody>\n</table>\n</section>\n";
}

// Long format, one row per run, epoch and split, so one spec draws train and validation as
// two dash styles of each run's color.
Json learningCurveData(const std::vector<ReportRun>& runs) {
  Json rows = Json::array();
  for (const ReportRun& run : runs) {
    const std::string* previous_phase = nullptr;
    for (const EpochRecord& epoch : run.epochs) {
      // The first epoch of every phase after the first: where the schedule unfroze layers.
      const bool phase_start = previous_phase != nullptr && *previous_phase != epoch.phase;
      previous_phase = &epoch.phase;
      const auto add = [&](const char* split, double loss, double accuracy) {
        rows.push_back({{"run", run.label},
                        {"run_id", run.row.record.id},
                        {"epoch", epoch.epoch},
                        {"phase", epoch.phase},
                        {"phase_start", phase_start},
                        {"split", split},
                        {"loss", loss},
                        {"accuracy", accuracy}});
      };
      add("train", epoch.train_loss, epoch.train_accuracy);
      add("validation", epoch.val_loss, epoch.val_accuracy);
    }
  }
  return rows;
}

/// What one learning-curve chart plots: a column of the epoch rows and how to show it
/// (d3-format strings).
struct CurveField {
  std::string field;
  std::string axis_title;
  std::string axis_format;  ///< empty: Vega-Lite's default
  std::string tooltip_format;
};

// One learning-curve chart (Vega-Lite v5). Clicking a legend entry selects that run's lines
// (shift-click adds runs, double-click resets); the others fade, so one run can be followed
// through a crowded grid.
Json learningCurveSpec(const std::string& title, const CurveField& value, int max_epoch) {
  Json value_axis = {{"title", value.axis_title}};
  if (!value.axis_format.empty()) value_axis["format"] = value.axis_format;
  const Json run_selection = {{"name", "picked_runs"},
                              {"select", {{"type", "point"}, {"fields", Json::array({"run"})}}},
                              {"bind", "legend"}};
  const Json tooltip = Json::array({{{"field", "run"}},
                                    {{"field", "split"}},
                                    {{"field", "epoch"}},
                                    {{"field", "phase"}},
                                    {{"field", value.field}, {"format", value.tooltip_format}}});
  // Whole epochs only: every epoch up to 20, else integer ticks Vega-Lite spaces itself.
  Json epoch_axis = {{"tickMinStep", 1}, {"format", "d"}};
  if (max_epoch <= 20) {
    Json ticks = Json::array();
    for (int epoch = 1; epoch <= max_epoch; ++epoch) ticks.push_back(epoch);
    epoch_axis["values"] = ticks;
  }
  const Json x = {{"field", "epoch"}, {"type", "quantitative"}, {"axis", epoch_axis}};
  // A dashed vertical rule where a freeze / fine-tune phase begins.
  const Json phase_rules = {
      {"transform", Json::array({{{"filter", "datum.phase_start && datum.split == 'train'"}}})},
      {"mark", {{"type", "rule"}, {"strokeDash", Json::array({2, 3})}, {"color", "#888"}}},
      {"encoding",
       {{"x", x},
        {"tooltip",
         Json::array({{{"field", "run"}}, {{"field", "phase"}, {"title", "phase starts"}}})}}}};
  const Json curves = {
      {"mark", {{"type", "line"}, {"point", true}}},
      {"params", Json::array({run_selection})},
      {"encoding",
       {{"x", x},
        {"y",
         {{"field", value.field},
          {"type", "quantitative"},
          {"scale", {{"zero", false}}},
          {"axis", value_axis}}},
        {"color", {{"field", "run"}, {"type", "nominal"}, {"legend", {{"labelLimit", 320}}}}},
        {"strokeDash",
         {{"field", "split"},
          {"type", "nominal"},
          {"sort", Json::array({"train", "validation"})},
          {"legend", {{"symbolType", "stroke"}}}}},
        {"opacity", {{"condition", {{"param", "picked_runs"}, {"value", 1}}}, {"value", 0.12}}},
        {"tooltip", tooltip}}}};
  return {{"title", title},
          {"width", 520},
          {"height", 300},
          {"data", {{"name", "epochs"}}},
          {"layer", Json::array({curves, phase_rules})}};
}

std::string renderCharts(const std::vector<ReportRun>& runs) {
  std::string html = "<section>\n<h2>Learning curves</h2>\n";
  const Json data = learningCurveData(runs);
  if (data.empty()) return html + "<p>No epochs recorded yet.</p>\n</section>\n";
  std::string missing;
  for (const ReportRun& run : runs) {
    if (run.epochs.empty()) missing += (missing.empty() ? "" : ", ") + escapeHtml(run.label);
  }
  if (!missing.empty()) {
    html += fmt::format("<p class=\"hint\">No epochs recorded: {}</p>\n", missing);
  }
  int max_epoch = 1;
  for (const ReportRun& run : runs) {
    for (const EpochRecord& epoch : run.epochs) max_epoch = std::max(max_epoch, epoch.epoch);
  }
  const Json specs = {
      {"chart-loss",
       learningCurveSpec("Loss per epoch", {"loss", "cross-entropy loss", "", ".4f"}, max_epoch)},
      {"chart-accuracy",
       learningCurveSpec("Accuracy per epoch", {"accuracy", "accuracy", ".0%", ".2%"}, max_epoch)}};
  html +=
      "<p class=\"hint\">Solid: train, dashed: validation (PublicTest); grey vertical rules mark "
      "the start of a freeze / fine-tune phase. Click a run in the legend to highlight it; "
      "shift-click adds runs, double-click resets.</p>\n"
      "<div class=\"charts\"><div id=\"chart-loss\"></div><div id=\"chart-accuracy\"></div>"
      "</div>\n";
  html +=
      "<script type=\"application/json\" id=\"ferlab-epochs\">" + scriptJson(data) + "</script>\n";
  html +=
      "<script type=\"application/json\" id=\"ferlab-specs\">" + scriptJson(specs) + "</script>\n";
  return html + "</section>\n";
}

constexpr const char* kStyle = R"CSS(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #222; }
h1 { margin-bottom: 0.2rem; }
.meta, .hint { color: #555; font-size: 0.9rem; }
.protocol { background: #f3f6fa; border-left: 4px solid #4c78a8; padding: 0.6rem 0.8rem; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; }
th { cursor: pointer; user-select: none; background: #fafafa; }
th[aria-sort=ascending]::after { content: " \25B2"; }
th[aria-sort=descending]::after { content: " \25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.status-failed td { color: #a33; }
tr.status-running td, tr.status-queued td { color: #777; }
.charts { display: flex; flex-wrap: wrap; gap: 2rem; }
)CSS";

// Sorting: numbers numerically, text alphabetically, unknown values last in both directions.
// Charts: the epoch rows are shared by both specs as the named dataset "epochs"; the spec is
// passed as an object, so vega-embed loads nothing.
constexpr const char* kScript = R"JS(
(function () {
  const table = document.getElementById('runs');
  if (table) {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach((th, column) => th.addEventListener('click', () => {
      const ascending = th.getAttribute('aria-sort') !== 'ascending';
      headers.forEach(other => other.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      const numeric = th.dataset.type === 'num';
      const body = table.tBodies[0];
      const key = row => row.cells[column].dataset.sort;
      Array.from(body.rows).sort((a, b) => {
        const x = key(a), y = key(b);
        if (x === '' || y === '') return (x === '') - (y === '');
        const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return ascending ? order : -order;
      }).forEach(row => body.appendChild(row));
    }));
  }
  const specsBlock = document.getElementById('ferlab-specs');
  if (!specsBlock) return;
  const epochs = JSON.parse(document.getElementById('ferlab-epochs').textContent);
  const specs = JSON.parse(specsBlock.textContent);
  for (const [id, spec] of Object.entries(specs)) {
    spec.datasets = {epochs: epochs};
    vegaEmbed('#' + id, spec, {mode: 'vega-lite', actions: false, renderer: 'svg'})
      .catch(error => { document.getElementById(id).textContent = 'Chart failed: ' + error; });
  }
})();
)JS";

std::string renderLibraries(const std::string& assets_dir) {
  std::string html;
  for (const std::string& library : chartLibraries()) {
    html += "<script>/* " + library + " */\n" + inlineableScript(readAsset(assets_dir, library)) +
            "\n</script>\n";
  }
  return html;
}

}  // namespace

std::string defaultAssetsDir() {
  const char* assets = std::getenv("FERLAB_ASSETS");
  if (assets != nullptr && *assets != '\0') return assets;
  return std::string(FERLAB_SOURCE_DIR) + "/node_modules";
}

std::string renderHtmlReport(const tracking::SqliteStore& store, const ReportOptions& options) {
  const std::string assets_dir =
      options.assets_dir.empty() ? defaultAssetsDir() : options.assets_dir;
  // Libraries first: a missing install fails before any store work.
  const std::string libraries = renderLibraries(assets_dir);
  const std::vector<ReportRun> runs = loadRuns(store, options);

  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>" + escapeHtml(options.title) + "</title>\n";
  html += "<style>" + std::string(kStyle) + "</style>\n";
  html += "</head>\n<body>\n";
  html += renderHeader(runs, options);
  html += renderRunsTable(runs);
  html += renderCharts(runs);
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

}  // namespace ferlab::report
