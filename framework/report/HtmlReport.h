#pragma once
// `ferlab report`: one self-contained HTML page that compares the selected runs of the
// tracking store, in nine sections: summary (best run by validation accuracy, its test
// accuracy and macro-F1 with 95% bootstrap CIs), runs table (varied params, sortable), learning
// curves, effects of each varied param, per-class metrics and confusion matrices,
// significance against the best run (exact McNemar + Holm, paired bootstrap CI), seed
// aggregates, a gallery of the best run's most confident test mistakes, and provenance.
//
// Charts are Vega-Lite specs (framework/report/Charts.h; Satyanarayan et al. 2017) drawn by
// vega-embed with the SVG renderer; the three libraries (npm, pinned in package-lock.json,
// installed by scripts/setup.sh) are inlined, and images are PNG data URIs, so the page
// needs no network when opened. Every user-provided string (run names, experiment names,
// config values, error messages) is HTML-escaped, and JSON embedded in <script> is escaped so
// "</script>" cannot end the block. Runs that failed, are still running or have no stored
// predictions render with "n/a" where a value is missing.

#include <cstdint>
#include <string>

#include "framework/report/RunSelection.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::report {

struct ReportOptions {
  std::string title = "FERLab report";
  RunSelection selection;  ///< which runs (experiments, ids, key=value filters)
  /// A node_modules folder holding vega/build/vega.min.js, vega-lite/build/vega-lite.min.js
  /// and vega-embed/build/vega-embed.min.js; empty = defaultAssetsDir().
  std::string assets_dir;
  int bootstrap_resamples = 2000;  ///< per interval (>= 1000)
  std::uint64_t bootstrap_seed = 0;
  int gallery_size = 24;     ///< most confident PrivateTest mistakes of the best run
  int confusion_panels = 4;  ///< confusion matrices side by side (best run first)
};

/// <source>/node_modules, or $FERLAB_ASSETS when set.
std::string defaultAssetsDir();

/// Renders the page. Throws StoreError (unknown or ambiguous run id) or DataError (a chart
/// library file is missing: the message names it and says to run scripts/setup.sh). Missing
/// images for the errors gallery are reported in the page, not thrown.
std::string renderHtmlReport(const tracking::SqliteStore& store, const ReportOptions& options);

/// HTML-escapes & < > " ' (for text and attribute values).
std::string escapeHtml(const std::string& text);

/// RFC 4648 base64 (with padding), for data: URIs.
std::string base64Encode(const std::string& bytes);

}  // namespace ferlab::report
