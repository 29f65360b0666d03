#include "framework/report/Charts.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace ferlab::report {
namespace {

using Json = nlohmann::json;

// Phase starts (1-based epochs) of one run: from the phase records when the store has them,
// else where EpochRecord::phase changes (stores written before phases were recorded).
std::vector<std::pair<int, std::string>> phaseStarts(const CurveRun& run) {
  std::vector<std::pair<int, std::string>> starts;
  if (!run.phases.empty()) {
    for (const tracking::PhaseRecord& phase : run.phases) {
      if (phase.index > 0) starts.emplace_back(phase.first_epoch, phase.name);
    }
    return starts;
  }
  for (std::size_t i = 1; i < run.epochs.size(); ++i) {
    if (run.epochs[i].phase != run.epochs[i - 1].phase) {
      starts.emplace_back(run.epochs[i].epoch, run.epochs[i].phase);
    }
  }
  return starts;
}

// Whole epochs on the x axis: every epoch up to 20, else integer ticks Vega-Lite spaces.
Json epochAxis(const std::vector<CurveRun>& runs) {
  int max_epoch = 1;
  for (const CurveRun& run : runs) {
    for (const tracking::EpochRecord& epoch : run.epochs)
      max_epoch = std::max(max_epoch, epoch.epoch);
  }
  Json axis = {{"tickMinStep", 1}, {"format", "d"}, {"title", "epoch"}};
  if (max_epoch <= 20) {
    Json ticks = Json::array();
    for (int epoch = 1; epoch <= max_epoch; ++epoch) ticks.push_back(epoch);
    axis["values"] = ticks;
  }
  return axis;
}

}  // namespace

Json learningCurvesSpec(const std::vector<CurveRun>& runs, CurveMetric metric, int width,
                        int height) {
  const bool loss = metric == CurveMetric::Loss;
  const std::string field = loss ? "loss" : "accuracy";
  // Long format: one row per run, epoch and split, so one line mark draws train and
  // validation as two dash styles of the run's colour.
  Json rows = Json::array();
  Json rules = Json::array();
  for (const CurveRun& run : runs) {
    const auto starts = phaseStarts(run);
    for (const tracking::EpochRecord& epoch : run.epochs) {
      const bool phase_start = std::any_of(starts.begin(), starts.end(), [&](const auto& start) {
        return start.first == epoch.epoch;
      });
      const auto add = [&](const char* split, double value) {
        rows.push_back({{"run", run.label},
                        {"run_id", run.run_id},
                        {"details", run.details},
                        {"epoch", epoch.epoch},
                        {"phase", epoch.phase},
                        {"phase_start", phase_start},
                        {"split", split},
                        {"lr", epoch.lr},
                        {field, value}});
      };
      add("train", loss ? epoch.train_loss : epoch.train_accuracy);
      add("validation", loss ? epoch.val_loss : epoch.val_accuracy);
    }
    for (const auto& [epoch, phase] : starts) {
      rules.push_back({{"run", run.label}, {"epoch", epoch}, {"phase", phase}});
    }
  }
  const Json x = {{"field", "epoch"}, {"type", "quantitative"}, {"axis", epochAxis(runs)}};
  Json value_axis = {{"title", loss ? "cross-entropy loss" : "accuracy"}};
  if (!loss) value_axis["format"] = ".0%";
  const std::string value_format = loss ? ".4f" : ".2%";
  // Clicking a legend entry selects that run (shift-click adds runs, double-click clears);
  // the others nearly vanish, which is how a run is shown or hidden in a crowded grid.
  const Json picked = {{"name", "picked_runs"},
                       {"select", {{"type", "point"}, {"fields", Json::array({"run"})}}},
                       {"bind", "legend"}};
  const Json tooltip = Json::array({{{"field", "run"}},
                                    {{"field", "run_id"}, {"title", "id"}},
                                    {{"field", "details"}},
                                    {{"field", "split"}},
                                    {{"field", "epoch"}},
                                    {{"field", "phase"}},
                                    {{"field", "lr"}, {"format", ".3g"}},
                                    {{"field", field}, {"format", value_format}}});
  Json curves = {
      {"data", {{"values", rows}}},
      {"mark", {{"type", "line"}, {"point", true}}},
      {"params", Json::array({picked})},
      {"encoding",
       {{"x", x},
        {"y",
         {{"field", field},
          {"type", "quantitative"},
          {"scale", {{"zero", false}}},
          {"axis", value_axis}}},
        {"color",
         {{"field", "run"},
          {"type", "nominal"},
          // 20 distinguishable hues before colours repeat (the default has 10).
          {"scale", {{"scheme", runs.size() > 10 ? "tableau20" : "tableau10"}}},
          {"legend", {{"labelLimit", 360}}}}},
        {"strokeDash",
         {{"field", "split"},
          {"type", "nominal"},
          {"sort", Json::array({"train", "validation"})},
          {"legend", {{"symbolType", "stroke"}}}}},
        {"opacity", {{"condition", {{"param", "picked_runs"}, {"value", 1}}}, {"value", 0.06}}},
        {"tooltip", tooltip}}}};
  Json layers = Json::array({curves});
  if (!rules.empty()) {
    layers.push_back(
        {{"data", {{"values", rules}}},
         {"mark", {{"type", "rule"}, {"strokeDash", Json::array({2, 3})}, {"color", "#888"}}},
         {"encoding",
          {{"x", x},
           {"tooltip", Json::array({{{"field", "run"}},
                                    {{"field", "phase"}, {"title", "phase starts"}},
                                    {{"field", "epoch"}}})}}}});
  }
  return {{"$schema", kVegaLiteSchema},
          {"title", loss ? "Loss per epoch" : "Accuracy per epoch"},
          {"width", width},
          {"height", height},
          {"layer", layers}};
}

Json annotatedHeatmapLayers(const Json& x, const Json& y, const Json& color, const Json& tooltip,
                            const std::string& text_format, const std::string& white_text_test,
                            int font_size) {
  const Json heat = {{"mark", "rect"},
                     {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tooltip}}}};
  const Json text = {
      {"mark", {{"type", "text"}, {"fontSize", font_size}}},
      {"encoding",
       {{"x", x},
        {"y", y},
        {"text", {{"field", "value"}, {"type", "quantitative"}, {"format", text_format}}},
        {"color",
         {{"condition", {{"test", white_text_test}, {"value", "white"}}}, {"value", "black"}}},
        {"tooltip", tooltip}}}};
  return Json::array({heat, text});
}

Json confusionMatrixSpec(const std::string& run_name, const std::vector<std::string>& class_names,
                         const std::vector<std::int64_t>& counts, bool normalise, int cell_size) {
  const std::size_t k = class_names.size();
  if (counts.size() != k * k) {
    throw std::invalid_argument(fmt::format("confusionMatrixSpec({}): {} counts for {} classes",
                                            run_name, counts.size(), k));
  }
  return confusionMatrixSpec(run_name, class_names, class_names, counts, normalise, cell_size);
}

Json confusionMatrixSpec(const std::string& run_name, const std::vector<std::string>& row_names,
                         const std::vector<std::string>& column_names,
                         const std::vector<std::int64_t>& counts, bool normalise, int cell_size) {
  const std::size_t rows = row_names.size(), columns = column_names.size();
  if (counts.size() != rows * columns) {
    throw std::invalid_argument(
        fmt::format("confusionMatrixSpec({}): {} counts for {} x {} classes", run_name,
                    counts.size(), rows, columns));
  }
  Json cells = Json::array();
  for (std::size_t row = 0; row < rows; ++row) {
    std::int64_t total = 0;
    for (std::size_t col = 0; col < columns; ++col) total += counts[row * columns + col];
    for (std::size_t col = 0; col < columns; ++col) {
      const std::int64_t count = counts[row * columns + col];
      const double fraction = total > 0 ? static_cast<double>(count) / total : 0.0;
      cells.push_back({{"true", row_names[row]},
                       {"predicted", column_names[col]},
                       {"count", count},
                       {"fraction", fraction},
                       {"value", normalise ? fraction : static_cast<double>(count)}});
    }
  }
  const std::string value_title = normalise ? "fraction of true class" : "count";
  const Json x = {{"field", "predicted"},
                  {"type", "nominal"},
                  {"sort", Json(column_names)},
                  {"axis", {{"labelAngle", -40}}}};
  const Json y = {{"field", "true"}, {"type", "nominal"}, {"sort", Json(row_names)}};
  const Json tooltip =
      Json::array({{{"field", "true"}},
                   {{"field", "predicted"}},
                   {{"field", "count"}},
                   {{"field", "fraction"}, {"format", ".1%"}, {"title", "of true class"}}});
  // Dark cells get white text; the threshold is half the colour scale's range.
  double max_value = 0;
  for (const Json& cell : cells) max_value = std::max(max_value, cell["value"].get<double>());
  const double threshold = normalise ? 0.5 : max_value / 2;
  const Json color = {{"field", "value"},
                      {"type", "quantitative"},
                      {"title", value_title},
                      {"scale", normalise ? Json{{"scheme", "blues"}, {"domain", {0, 1}}}
                                          : Json{{"scheme", "blues"}}}};
  const Json layers = annotatedHeatmapLayers(x, y, color, tooltip, normalise ? ".2f" : "d",
                                             fmt::format("datum.value > {}", threshold), 10);
  return {{"$schema", kVegaLiteSchema},
          {"title", {{"text", run_name}, {"subtitle", normalise ? "rows normalised" : "counts"}}},
          {"width", cell_size * static_cast<int>(columns)},
          {"height", cell_size * static_cast<int>(rows)},
          {"data", {{"values", cells}}},
          {"layer", layers}};
}

Json comparisonSpec(const std::vector<ComparisonPoint>& points, const std::string& metric_title,
                    bool percent) {
  Json rows = Json::array();
  Json order = Json::array();
  for (const ComparisonPoint& point : points) {
    Json row = {{"run", point.run}, {"value", point.value}};
    if (point.low && point.high) {
      row["low"] = *point.low;
      row["high"] = *point.high;
    }
    rows.push_back(row);
    order.push_back(point.run);
  }
  const std::string format = percent ? ".2%" : ".4f";
  const Json y = {{"field", "run"},
                  {"type", "nominal"},
                  {"sort", order},
                  {"axis", {{"labelLimit", 360}, {"title", nullptr}}}};
  Json axis = {{"title", metric_title}};
  if (percent) axis["format"] = ".0%";
  const Json tooltip =
      Json::array({{{"field", "run"}},
                   {{"field", "value"}, {"format", format}, {"title", metric_title}},
                   {{"field", "low"}, {"format", format}, {"title", "CI low"}},
                   {{"field", "high"}, {"format", format}, {"title", "CI high"}}});
  const Json bars = {{"mark", {{"type", "bar"}, {"color", "#4c78a8"}}},
                     {"encoding",
                      {{"y", y},
                       {"x", {{"field", "value"}, {"type", "quantitative"}, {"axis", axis}}},
                       {"tooltip", tooltip}}}};
  const Json errors = {{"transform", Json::array({{{"filter", "isValid(datum.low)"}}})},
                       {"mark", {{"type", "rule"}, {"color", "#222"}, {"strokeWidth", 1.5}}},
                       {"encoding",
                        {{"y", y},
                         {"x", {{"field", "low"}, {"type", "quantitative"}}},
                         {"x2", {{"field", "high"}}},
                         {"tooltip", tooltip}}}};
  return {{"$schema", kVegaLiteSchema},
          {"title", metric_title + " per run"},
          {"width", 420},
          {"height", {{"step", 22}}},
          {"data", {{"values", rows}}},
          {"layer", Json::array({bars, errors})}};
}

Json effectSpec(const std::string& param, const std::vector<EffectPoint>& points,
                const std::string& metric_title, bool percent) {
  Json rows = Json::array();
  Json order = Json::array();
  for (const EffectPoint& point : points) {
    rows.push_back({{"value", point.value},
                    {"mean", point.mean},
                    {"low", point.low},
                    {"high", point.high},
                    {"n", point.n}});
    order.push_back(point.value);
  }
  const std::string format = percent ? ".2%" : ".4f";
  const Json x = {{"field", "value"},
                  {"type", "nominal"},
                  {"sort", order},
                  {"axis", {{"title", param}, {"labelAngle", 0}}}};
  Json axis = {{"title", metric_title}};
  if (percent) axis["format"] = ".1%";
  const Json tooltip = Json::array({{{"field", "value"}, {"title", param}},
                                    {{"field", "mean"}, {"format", format}},
                                    {{"field", "low"}, {"format", format}},
                                    {{"field", "high"}, {"format", format}},
                                    {{"field", "n"}, {"title", "runs"}}});
  const Json bars = {{"mark", {{"type", "rule"}, {"strokeWidth", 2}, {"color", "#4c78a8"}}},
                     {"encoding",
                      {{"x", x},
                       {"y",
                        {{"field", "low"},
                         {"type", "quantitative"},
                         {"scale", {{"zero", false}}},
                         {"axis", axis}}},
                       {"y2", {{"field", "high"}}},
                       {"tooltip", tooltip}}}};
  const Json means = {
      {"mark", {{"type", "point"}, {"filled", true}, {"size", 80}, {"color", "#e45756"}}},
      {"encoding",
       {{"x", x}, {"y", {{"field", "mean"}, {"type", "quantitative"}}}, {"tooltip", tooltip}}}};
  return {{"$schema", kVegaLiteSchema}, {"title", param},
          {"width", {{"step", 60}}},    {"height", 200},
          {"data", {{"values", rows}}}, {"layer", Json::array({bars, means})}};
}

}  // namespace ferlab::report
