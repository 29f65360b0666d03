#pragma once
// Internal to framework/report/: what the files behind HtmlReport.h share. HtmlReport.cpp
// assembles the page from the sections; ReportData.cpp loads the runs from the store;
// ReportHtml.cpp holds the HTML building blocks; one file per section (or small group of
// related sections) renders it; PageAssets.cpp holds the inlined Vega bundle, the CSS and
// script, and the provenance section. Not a public header: nothing outside framework/report/
// includes it.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/report/HtmlReport.h"
#include "framework/report/Statistics.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::report::sections {

using Json = nlohmann::json;
using tracking::EpochRecord;
using tracking::Prediction;
using tracking::RunRow;
using tracking::SplitMetrics;

// DESIGN.md, "Protocol: FER2013 splits": every report states it, so a reader knows the test
// columns were never used to choose anything.
inline constexpr const char* kProtocol =
    "Runs are selected on PublicTest (validation) only: early stopping, checkpoint choice and "
    "the choice of the best run use validation accuracy. PrivateTest (test) is evaluated once "
    "per run on the checkpoint chosen by validation, and never used for selection.";
inline constexpr const char* kMissing = "n/a";
inline constexpr const char* kValSplit = "PublicTest";
inline constexpr const char* kTestSplit = "PrivateTest";
inline constexpr const char* kSeedKey = "train.seed";
// Shown in the backbone column already, so never repeated as a varied-param column.
inline constexpr const char* kBackboneKey = "model.name";

/// One run as the page shows it: the store row, its history, final metrics and test
/// predictions (sorted by sample index, so two runs on the same samples pair up).
struct ReportRun {
  RunRow row;
  std::vector<EpochRecord> epochs;
  std::vector<tracking::PhaseRecord> phases;
  std::vector<SplitMetrics> splits;
  std::vector<Prediction> test;
  /// Cross-dataset evaluations (`ferlab evaluate`), without per-sample predictions.
  std::vector<tracking::EvaluationRecord> evaluations;
  std::string label;    ///< unique display name: the run name, plus the id when names collide
  std::string details;  ///< "key=value, ..." of the varied params, for tooltips
  /// An ensemble's members and weights (heaviest first); empty for a training run.
  std::vector<tracking::EnsembleMember> members;
  /// The record whose config names the run's data (data.path, for the errors gallery): the
  /// run itself, or for an ensemble its first member still in the store.
  tracking::RunRecord data_record;
  /// An ensemble (`ferlab ensemble`): no epochs, no params, no checkpoint of its own.
  bool ensemble() const { return row.record.kind == tracking::RunKind::Ensemble; }
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

// ---- Data (ReportData.cpp) ------------------------------------------------------------

/// The selected runs of `store` with their epochs, phases, split metrics and PrivateTest
/// predictions, labels, varied params, the best run (by validation accuracy only) and the
/// class names. Throws StoreError (unknown or ambiguous run id).
Context loadContext(const tracking::SqliteStore& store, const ReportOptions& options);

/// The value of param `key` of `record`, nullptr when it has none.
const std::string* findParam(const tracking::RunRecord& record, const std::string& key);
/// The stored metrics of `split` ("PrivateTest") of `run`, nullptr when none.
const SplitMetrics* findSplit(const ReportRun& run, const std::string& split);

/// True labels and predicted classes of `predictions`, in their order.
std::vector<std::int64_t> labelsOf(const std::vector<Prediction>& predictions);
std::vector<std::int64_t> predictedOf(const std::vector<Prediction>& predictions);

/// Paired statistics need the same samples in the same order with the same labels.
bool samePredictionSamples(const std::vector<Prediction>& a, const std::vector<Prediction>& b);

// ---- HTML building blocks (ReportHtml.cpp) ---------------------------------------------

/// The store uses -1 (and NaN) for "not recorded".
bool isKnown(double value);

/// JSON for a <script> block: "<" is written \u003c, so "</script>" in a string cannot end
/// the block; invalid UTF-8 is replaced rather than thrown on.
std::string scriptJson(const Json& value);

/// "61.23%", "0.6123", "61.23% [60.00, 62.50]" or "0.6123 [0.6000, 0.6250]", "0.0123" or
/// "1.2e-05"; "n/a" for unknown values.
std::string percentText(double fraction);
std::string fractionText(double value);
std::string intervalText(const Interval& interval, bool percent);
std::string pText(double p);

/// A table cell whose data-sort carries the raw number ("" when unknown, sorted last).
std::string numberCell(double value, const std::string& text, bool known);
std::string numberCell(double value, const std::string& text);
/// A text cell ("n/a" when empty), with an optional tooltip and CSS class.
std::string textCell(const std::string& text, const std::string& title = "",
                     const std::string& css_class = "");

/// (id, "N Title") of the eleven sections, in page order.
const std::vector<std::pair<std::string, std::string>>& sectionTitles();
/// "<section id=...>" and its numbered <h2> heading.
std::string openSection(const std::string& id);
/// The empty <div> a chart of `specs` is drawn into.
std::string chartDiv(const std::string& id);

// ---- Sections, in page order ------------------------------------------------------------

// OverviewSections.cpp
std::string renderHeader(const Context& context);
std::string renderSummary(const Context& context);
std::string renderRunsTable(const Context& context);
// CurveSections.cpp (add their charts to context.specs)
std::string renderCurves(Context& context);
std::string renderEffects(Context& context);
// PerClassSection.cpp
std::string renderPerClass(Context& context);
// SignificanceSection.cpp
std::string renderSignificance(Context& context);
// SeedsSection.cpp
std::string renderSeeds(const Context& context);
// ErrorGallery.cpp
std::string renderErrors(const Context& context);
// CrossDatasetSection.cpp (adds its confusion matrices to context.specs)
std::string renderCrossDataset(Context& context);
// LedgerSection.cpp: the reproduction ledger of the report's experiments
std::string renderLedger(const tracking::SqliteStore& store, const Context& context);
// PageAssets.cpp: `versions` from bundleVersions()
std::string renderProvenance(const Context& context, const Json& versions);

// ---- Page assets (PageAssets.cpp) -------------------------------------------------------

/// <assets_dir>/vega-bundle.json: library -> version (and the vl-convert-python release
/// that bundled them); an empty object when the file is missing or unreadable.
Json bundleVersions(const std::string& assets_dir);
/// <assets_dir>/vega-bundle.js inlined in a <script> element, in its own function scope.
/// Throws DataError naming the path (and scripts/setup.sh) when it is missing.
std::string renderLibraries(const std::string& assets_dir);
/// The page's CSS and script (table sorting, chart drawing).
const char* pageStyle();
const char* pageScript();

}  // namespace ferlab::report::sections
