// What every page carries besides its sections: the inlined Vega bundle (and the library
// versions it records), the CSS and the script, and section 9 "Provenance".

#include "framework/report/ReportSections.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/core/ResourcePaths.h"

namespace ferlab::report::sections {
namespace {

// The chart libraries in the assets folder (scripts/install_report_assets.sh): one script
// that defines window.vegaEmbed, with Vega and Vega-Lite inside it, and their versions.
constexpr const char* kBundleFile = "vega-bundle.js";
constexpr const char* kBundleVersionsFile = "vega-bundle.json";
// The libraries in the bundle, as vega-bundle.json names them, for the provenance section.
constexpr const char* kBundledLibraries[] = {"vega", "vega-lite", "vega-embed"};

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

std::string alignmentText(const tracking::AlignmentCounts& counts) {
  if (counts.aligned < 0 && counts.face_only < 0 && counts.none < 0) return "not applicable";
  const auto part = [](std::int64_t n) {
    return n < 0 ? std::string(kMissing) : std::to_string(n);
  };
  return fmt::format("{} aligned, {} face only, {} no face", part(counts.aligned),
                     part(counts.face_only), part(counts.none));
}

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

}  // namespace

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

// vega-bundle.json: library -> version (and the vl-convert-python release that bundled
// them); an empty object when the file is missing or unreadable.
Json bundleVersions(const std::string& assets_dir) {
  std::ifstream in(assets_dir + "/" + kBundleVersionsFile);
  const Json versions = Json::parse(in, nullptr, false);
  return versions.is_object() ? versions : Json::object();
}

// The bundle is a classic script whose top level declares short minified names (`const n`,
// `function t`, ...): run at the page's top level they would be globals that collide with
// any other script's. A function scope keeps them private; the bundle publishes what the
// page uses as window.vegaEmbed (its window.vega and window.vegaLite are null).
std::string renderLibraries(const std::string& assets_dir) {
  return fmt::format("<script>/* {} */\n(function () {{\n{}\n}})();\n</script>\n", kBundleFile,
                     inlineableScript(readAsset(assets_dir, kBundleFile)));
}

const char* pageStyle() {
  return kStyle;
}

const char* pageScript() {
  return kScript;
}

}  // namespace ferlab::report::sections

namespace ferlab::report {

std::string defaultReportAssetsDir() {
  return core::findResource({"the report's chart libraries (vega-bundle.js)", "reports/assets",
                             "FERLAB_REPORT_ASSETS",
                             "run scripts/setup.sh (or scripts/install_report_assets.sh)"});
}

}  // namespace ferlab::report
