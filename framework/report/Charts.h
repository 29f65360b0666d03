#pragma once
// Vega-Lite (v6) chart specs shared by the HTML report (`ferlab report`, drawn in the page by
// vega-embed) and the static figures (`ferlab plot`, drawn to SVG/PNG). Vega-Lite:
// Satyanarayan, Moritz, Wongsuphasawat & Heer, "Vega-Lite: A Grammar of Interactive
// Graphics", IEEE TVCG 2017, https://vega.github.io/vega-lite/.
//
// Every spec is complete and standalone: its data is inline ("data": {"values": [...]}), its
// "$schema" names Vega-Lite v6 (the major version vl-convert-python bundles for the report and
// renders for `ferlab plot`), so it can be compiled by vl-convert, vega-embed or the online
// editor as is. No function here throws except on inconsistent sizes (std::invalid_argument,
// documented per function). Strings go into JSON only; escaping for HTML is the caller's job.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/tracking/SqliteStore.h"

namespace ferlab::report {

/// The "$schema" of every spec: the Vega-Lite major version bundled by vl-convert-python
/// (scripts/python.lock). vega-embed warns when a spec names another major version.
inline constexpr const char* kVegaLiteSchema = "https://vega.github.io/schema/vega-lite/v6.json";

/// One run's history for learning curves.
struct CurveRun {
  std::string label;    ///< legend entry (unique among the runs of one chart)
  std::string run_id;   ///< shown in the tooltip
  std::string details;  ///< shown in the tooltip, e.g. "train.lr=0.001, model.name=vggnet"
  std::vector<tracking::EpochRecord> epochs;
  /// Freeze / fine-tune phases as they ran; a dashed rule marks the first epoch of every
  /// phase after the first. When empty, phase starts are taken from EpochRecord::phase.
  std::vector<tracking::PhaseRecord> phases;
};

/// Which learning-curve value to plot: cross-entropy loss or accuracy (fraction in [0, 1]).
enum class CurveMetric { Loss, Accuracy };

/// Learning curves: `metric` per epoch for every run, train solid and validation (PublicTest)
/// dashed, one colour per run; dashed grey rules where a phase starts. Interactive in a
/// browser: hover shows run, id, details, split, epoch, phase and value; clicking a legend
/// entry shows that run only (shift-click adds runs, double-click shows all again).
/// `width`/`height` in CSS pixels.
nlohmann::json learningCurvesSpec(const std::vector<CurveRun>& runs, CurveMetric metric,
                                  int width = 520, int height = 300);

/// The two layers of a heatmap with its values written in the cells: a rect layer coloured
/// by `color` (a Vega-Lite colour encoding of the "value" field) and a text layer showing
/// "value" with `text_format` (d3-format), white where the Vega expression `white_text_test`
/// holds (the dark cells), black elsewhere. `x`, `y` and `tooltip` are Vega-Lite encodings
/// shared by both layers; `font_size` in CSS pixels.
nlohmann::json annotatedHeatmapLayers(const nlohmann::json& x, const nlohmann::json& y,
                                      const nlohmann::json& color, const nlohmann::json& tooltip,
                                      const std::string& text_format,
                                      const std::string& white_text_test, int font_size);

/// Confusion-matrix heatmap of one run. `counts` is row-major k x k (row = true class,
/// column = predicted class, k = class_names.size()). With `normalise`, each row is divided
/// by its total (recall per class on the diagonal; an empty row stays 0); cells carry both
/// the count and the row fraction in the tooltip and the fraction (or count) as text.
/// Throws std::invalid_argument when counts.size() != k * k.
nlohmann::json confusionMatrixSpec(const std::string& run_name,
                                   const std::vector<std::string>& class_names,
                                   const std::vector<std::int64_t>& counts, bool normalise = true,
                                   int cell_size = 34);

/// As above for a matrix whose rows and columns are different classes: `counts` is row-major
/// row_names.size() x column_names.size() (row = true class, column = predicted class), as a
/// cross-dataset evaluation's dataset classes against every model class. Throws
/// std::invalid_argument when the sizes do not fit.
nlohmann::json confusionMatrixSpec(const std::string& run_name,
                                   const std::vector<std::string>& row_names,
                                   const std::vector<std::string>& column_names,
                                   const std::vector<std::int64_t>& counts, bool normalise = true,
                                   int cell_size = 34);

/// One bar of a comparison chart: a metric value of a run with an optional interval (e.g. a
/// 95% bootstrap CI), all in the metric's unit (fractions for accuracy and F1).
struct ComparisonPoint {
  std::string run;
  double value = 0;
  std::optional<double> low, high;  ///< both or neither; drawn as an error bar
};

/// Horizontal bar chart of `metric_title` per run (in the given order) with error bars for
/// the points that carry an interval. `percent`: format the axis and tooltips as percentages.
nlohmann::json comparisonSpec(const std::vector<ComparisonPoint>& points,
                              const std::string& metric_title, bool percent = true);

/// One group of an effect chart: the values of a param and a metric summary over all runs
/// with that value (mean and spread over the other params and seeds).
struct EffectPoint {
  std::string value;  ///< the param value, as in the config ("0.001", "vggnet")
  double mean = 0;
  double low = 0, high = 0;  ///< e.g. mean +/- one standard deviation, or min and max
  int n = 0;                 ///< runs in the group
};

/// Point + error-bar chart of a metric grouped by the values of one param (`param` names the
/// x axis). `percent`: the metric is a fraction shown as a percentage.
nlohmann::json effectSpec(const std::string& param, const std::vector<EffectPoint>& points,
                          const std::string& metric_title, bool percent = true);

}  // namespace ferlab::report
