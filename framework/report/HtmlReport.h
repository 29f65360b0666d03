#pragma once
// `ferlab report`: one self-contained HTML page rendered from the tracking store: a runs
// table and learning curves. Charts are Vega-Lite specs (Satyanarayan et al. 2017,
// https://vega.github.io/vega-lite/) emitted with nlohmann-json and drawn by vega-embed;
// the three libraries (installed from npm by scripts/setup.sh, pinned in package-lock.json)
// are inlined, so the page needs no network when opened. Every user-provided string (run
// names, experiment names, config values) is HTML-escaped, and JSON embedded in <script>
// is escaped so "</script>" cannot end the block.

#include <string>
#include <vector>

#include "framework/tracking/SqliteStore.h"

namespace ferlab::report {

struct ReportOptions {
  std::string title = "FERLab report";
  std::string experiment;            ///< only runs of this experiment (empty: all)
  std::vector<std::string> run_ids;  ///< only these runs, ids or unique prefixes (empty: all)
  /// A node_modules folder holding vega/build/vega.min.js, vega-lite/build/vega-lite.min.js
  /// and vega-embed/build/vega-embed.min.js; empty = defaultAssetsDir().
  std::string assets_dir;
};

/// <source>/node_modules, or $FERLAB_ASSETS when set.
std::string defaultAssetsDir();

/// Renders the page. Throws StoreError (bad run id) or DataError (a chart library file is
/// missing: the message names it and says to run scripts/setup.sh).
std::string renderHtmlReport(const tracking::SqliteStore& store, const ReportOptions& options);

/// HTML-escapes & < > " ' (for text and attribute values).
std::string escapeHtml(const std::string& text);

}  // namespace ferlab::report
