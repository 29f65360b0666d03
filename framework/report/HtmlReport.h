#pragma once
// `ferlab report`: one self-contained HTML page that compares the selected runs of the
// tracking store, in eleven sections: summary (best run by validation accuracy, its test
// accuracy and macro-F1 with 95% bootstrap CIs), runs table (varied params, sortable), learning
// curves, effects of each varied param, per-class metrics and confusion matrices,
// significance against the best run (exact McNemar + Holm, paired bootstrap CI), seed
// aggregates, a gallery of the best run's most confident test mistakes, cross-dataset
// evaluations (`ferlab evaluate`: accuracies and confusion matrices), claimed vs obtained
// for experiments that reproduce a published result (Ledger.h), and provenance.
//
// Charts are Vega-Lite specs (framework/report/Charts.h; Satyanarayan et al. 2017) drawn by
// vega-embed with the SVG renderer. Vega, Vega-Lite and Vega-Embed come as one script,
// reports/assets/vega-bundle.js, written by scripts/install_report_assets.sh from the
// vl-convert-python wheel pinned in scripts/python.lock; it is inlined (in its own function
// scope, so its top-level names cannot collide with the page's) and images are PNG data URIs,
// so the page needs no network when opened. Every user-provided string (run names, experiment
// names, config values, error messages) is HTML-escaped, and JSON embedded in <script> is
// escaped so "</script>" cannot end the block. Runs that failed, are still running or have no
// stored predictions render with "n/a" where a value is missing.
//
// The implementation is one file per concept, sharing framework/report/ReportSections.h
// (internal): ReportData.cpp (store queries), ReportHtml.cpp (HTML building blocks), one
// file per section or group of sections, ErrorGallery.cpp, PageAssets.cpp (inlined bundle,
// CSS, script, provenance), and HtmlReport.cpp (the page).

#include <cstdint>
#include <string>

#include "framework/report/RunSelection.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::report {

struct ReportOptions {
  std::string title = "FERLab report";
  RunSelection selection;  ///< which runs (experiments, ids, key=value filters)
  /// The folder holding vega-bundle.js (inlined) and vega-bundle.json (its library versions,
  /// shown under provenance), as scripts/install_report_assets.sh writes them; empty =
  /// defaultReportAssetsDir().
  std::string assets_dir;
  int bootstrap_resamples = 2000;  ///< per interval (>= 1000)
  std::uint64_t bootstrap_seed = 0;
  int gallery_size = 24;     ///< most confident PrivateTest mistakes of the best run
  int confusion_panels = 4;  ///< confusion matrices side by side (best run first)
};

/// $FERLAB_REPORT_ASSETS when set and not empty, else <root>/reports/assets beside the
/// running executable (core/ResourcePaths.h: build/ferlab -> <checkout>/reports/assets).
/// Throws DataError naming the path looked for and FERLAB_REPORT_ASSETS when that folder
/// does not exist.
std::string defaultReportAssetsDir();

/// Renders the page. Throws StoreError (unknown or ambiguous run id) or DataError (no
/// assets folder found, see defaultReportAssetsDir(); <assets_dir>/vega-bundle.js is
/// missing: the message names the path and says to run scripts/setup.sh). A missing or unreadable
/// vega-bundle.json only shows "n/a" versions. Missing images for the errors gallery are reported
/// in the page, not thrown.
std::string renderHtmlReport(const tracking::SqliteStore& store, const ReportOptions& options);

/// HTML-escapes & < > " ' (for text and attribute values).
std::string escapeHtml(const std::string& text);

/// RFC 4648 base64 (with padding), for data: URIs.
std::string base64Encode(const std::string& bytes);

}  // namespace ferlab::report
