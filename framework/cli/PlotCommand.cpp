// `ferlab plot`: static figures of recorded runs (learning curves, PrivateTest confusion
// matrices, a PrivateTest accuracy comparison with bootstrap confidence intervals) as SVG
// and/or PNG, drawn from the same Vega-Lite specs as the HTML report (report/Charts.h) by
// vl-convert in the project's Python environment (report/FigureRenderer.h).

#include <iostream>
#include <map>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/cli/SelectionOptions.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/report/Charts.h"
#include "framework/report/FigureRenderer.h"
#include "framework/report/RunSelection.h"
#include "framework/report/Statistics.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::cli {
namespace {

constexpr const char* kTestSplit = "PrivateTest";

// Run names label legends and bars; a name shared by runs of different experiments gets its
// experiment and id prefix so every label stays unique.
std::vector<std::string> uniqueLabels(const std::vector<tracking::RunRow>& runs) {
  std::map<std::string, int> uses;
  for (const auto& run : runs) ++uses[run.record.name];
  std::vector<std::string> labels;
  for (const auto& run : runs) {
    const auto& r = run.record;
    labels.push_back(uses[r.name] > 1
                         ? fmt::format("{} ({}, {})", r.name, r.experiment, r.id.substr(0, 6))
                         : r.name);
  }
  return labels;
}

std::string gridDetails(const tracking::RunRecord& record) {
  std::string details;
  for (const auto& [key, value] : record.grid_values) {
    details += fmt::format("{}{}={}", details.empty() ? "" : ", ", key, value);
  }
  return details;
}

void addLearningCurves(const tracking::SqliteStore& store,
                       const std::vector<tracking::RunRow>& runs,
                       const std::vector<std::string>& labels,
                       std::vector<report::Figure>& figures) {
  std::vector<report::CurveRun> curves;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    report::CurveRun curve;
    curve.label = labels[i];
    curve.run_id = runs[i].record.id;
    curve.details = gridDetails(runs[i].record);
    curve.epochs = store.epochs(curve.run_id);
    curve.phases = store.phases(curve.run_id);
    if (!curve.epochs.empty()) curves.push_back(std::move(curve));
  }
  if (curves.empty()) {
    log::warn("no selected run has recorded epochs: no learning curves");
    return;
  }
  figures.push_back(
      {"learning-curves-loss", report::learningCurvesSpec(curves, report::CurveMetric::Loss)});
  figures.push_back({"learning-curves-accuracy",
                     report::learningCurvesSpec(curves, report::CurveMetric::Accuracy)});
}

void addConfusionMatrices(const tracking::SqliteStore& store,
                          const std::vector<tracking::RunRow>& runs,
                          const std::vector<std::string>& labels,
                          std::vector<report::Figure>& figures) {
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (const auto& split : store.splitMetrics(runs[i].record.id)) {
      if (split.split != kTestSplit || split.confusion.empty()) continue;
      std::vector<std::string> class_names;
      for (const auto& c : split.classes) class_names.push_back(c.name);
      figures.push_back({"confusion-matrix-" + runs[i].record.id,
                         report::confusionMatrixSpec(labels[i], class_names, split.confusion)});
    }
  }
}

// PrivateTest accuracy per run; a percentile-bootstrap 95% interval when the run's test
// predictions are stored, the recorded value alone otherwise.
void addComparison(const tracking::SqliteStore& store, const std::vector<tracking::RunRow>& runs,
                   const std::vector<std::string>& labels, int resamples, std::uint64_t seed,
                   std::vector<report::Figure>& figures) {
  std::vector<report::ComparisonPoint> points;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto predictions = store.predictions(runs[i].record.id, kTestSplit);
    report::ComparisonPoint point;
    point.run = labels[i];
    if (!predictions.empty()) {
      std::vector<std::int64_t> truth, predicted;
      for (const auto& p : predictions) {
        truth.push_back(p.label);
        predicted.push_back(p.predicted);
      }
      const auto interval = report::bootstrapAccuracy(truth, predicted, resamples, seed);
      point.value = interval.estimate;
      point.low = interval.low;
      point.high = interval.high;
    } else if (runs[i].summary.test_accuracy >= 0) {
      point.value = runs[i].summary.test_accuracy;
    } else {
      continue;  // not evaluated on the test split (yet)
    }
    points.push_back(point);
  }
  if (points.empty()) {
    log::warn("no selected run has {} results: no comparison figure", kTestSplit);
    return;
  }
  figures.push_back(
      {"comparison",
       report::comparisonSpec(points, fmt::format("{} accuracy (95% bootstrap CI)", kTestSplit))});
}

}  // namespace

int plotCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  po::positional_options_description positional;
  SelectionArgs selection_args;
  std::string db_path, output, format;
  int resamples = 2000;
  std::uint64_t seed = 0;
  addSelectionOptions(options, positional, selection_args);
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("output,o", po::value(&output)->required(), "folder for the figures (created)")
      ("format", po::value(&format)->default_value("svg"), "svg, png (2x, drawn by vl-convert) or both")
      ("resamples", po::value(&resamples)->default_value(resamples), "bootstrap resamples per interval (>= 1000)")
      ("seed", po::value(&seed)->default_value(seed), "bootstrap seed")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)");
  // clang-format on
  po::variables_map values;
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab plot [RUN...] [--experiment E]... [--where KEY=VALUE]... "
                        "-o DIR [--format svg|png|both] [--db PATH]\n\n"
                        "Writes learning-curves-{loss,accuracy}, confusion-matrix-<run id> "
                        "(PrivateTest) and comparison (PrivateTest accuracy, 95% bootstrap CI).",
                        values)) {
    return 0;
  }
  if (format != "svg" && format != "png" && format != "both") {
    throw UsageError(fmt::format("--format '{}': expected svg, png or both", format));
  }
  report::FigureOptions figure_options;
  figure_options.svg = format != "png";
  figure_options.png = format != "svg";
  if (resamples < 1000) {
    throw UsageError(fmt::format("--resamples {}: at least 1000 are needed", resamples));
  }
  const tracking::SqliteStore store(db_path, tracking::OpenMode::ReadOnly);
  const auto runs = selectRunsFromArgs(store, selection_args);
  if (runs.empty()) throw UsageError(fmt::format("no run in {} matches the selection", db_path));

  const auto labels = uniqueLabels(runs);
  std::vector<report::Figure> figures;
  addLearningCurves(store, runs, labels, figures);
  addConfusionMatrices(store, runs, labels, figures);
  addComparison(store, runs, labels, resamples, seed, figures);
  if (figures.empty()) throw DataError("the selected runs have nothing to plot yet");
  const auto written = report::renderFigures(figures, output, figure_options);
  for (const auto& path : written) std::cout << path << "\n";
  log::info("{} figure file(s) of {} run(s) written to {}", written.size(), runs.size(), output);
  return 0;
}

}  // namespace ferlab::cli
