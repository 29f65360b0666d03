#include "framework/cli/EvaluationOutput.h"

#include <fmt/format.h>

#include "framework/cli/Table.h"

namespace ferlab::cli {
namespace {

using nlohmann::json;

std::string nameOf(const tracking::EvaluationRecord& e, std::int64_t index) {
  return index >= 0 && static_cast<std::size_t>(index) < e.class_names.size()
             ? e.class_names[static_cast<std::size_t>(index)]
             : fmt::format("class{}", index);
}

std::string keptClasses(const tracking::EvaluationRecord& e) {
  std::string list;
  for (const int c : e.classes) list += (list.empty() ? "" : ",") + nameOf(e, c);
  return list;
}

}  // namespace

json evaluationToJson(const tracking::EvaluationRecord& e, bool with_predictions) {
  json per_class = json::array();
  for (const auto& m : e.class_metrics) {
    per_class.push_back({{"name", m.name},
                         {"precision", m.precision},
                         {"recall", m.recall},
                         {"f1", m.f1},
                         {"support", m.support}});
  }
  json rows = json::array(), counts = json::array();
  const std::size_t k = e.class_names.size();
  for (std::size_t r = 0; r < e.classes.size(); ++r) {
    rows.push_back(nameOf(e, e.classes[r]));
    counts.push_back(
        std::vector<std::int64_t>(e.confusion.begin() + r * k, e.confusion.begin() + (r + 1) * k));
  }
  json classes = json::array();
  for (const int c : e.classes) classes.push_back(nameOf(e, c));
  json out = {{"run", e.run_id},
              {"dataset", e.dataset},
              {"path", e.dataset_path},
              {"format", e.format},
              {"content_hash", e.content_hash},
              {"class_map", json::parse(e.class_map)},
              {"classes", classes},
              {"images", e.images},
              {"dropped_images", e.dropped_images},
              {"accuracy", e.accuracy},
              {"restricted_accuracy", e.restricted_accuracy},
              {"macro_f1", e.macro_f1},
              {"per_class", per_class},
              {"confusion", {{"rows", rows}, {"columns", e.class_names}, {"counts", counts}}},
              {"alignment", e.alignment.aligned < 0 ? json(nullptr)
                                                    : json{{"aligned", e.alignment.aligned},
                                                           {"face_only", e.alignment.face_only},
                                                           {"none", e.alignment.none}}},
              {"evaluated_at", e.evaluated_at}};
  if (with_predictions) {
    json samples = json::array();
    for (const auto& p : e.predictions) {
      json probabilities = json::object();
      for (std::size_t c = 0; c < k && c < p.probabilities.size(); ++c)
        probabilities[e.class_names[c]] = p.probabilities[c];
      samples.push_back({{"sample", p.sample_id},
                         {"label", nameOf(e, p.label)},
                         {"predicted", nameOf(e, p.predicted)},
                         {"restricted", nameOf(e, p.restricted)},
                         {"probabilities", probabilities}});
    }
    out["predictions"] = samples;
  }
  return out;
}

std::string evaluationsTable(const std::vector<tracking::EvaluationRecord>& evaluations) {
  TextTable table({"DATASET", "FORMAT", "IMAGES", "CLASSES KEPT", "ACCURACY", "RESTRICTED",
                   "MACRO_F1", "CONTENT"});
  for (const auto& e : evaluations) {
    table.addRow({e.dataset, e.format, std::to_string(e.images), keptClasses(e),
                  percentOrDash(e.accuracy), percentOrDash(e.restricted_accuracy),
                  numberOrDash(e.macro_f1, 3), e.content_hash});
  }
  return table.render();
}

std::string evaluationClassTable(const tracking::EvaluationRecord& e) {
  TextTable table({"CLASS", "PRECISION", "RECALL", "F1", "SUPPORT"});
  for (const auto& m : e.class_metrics) {
    table.addRow({m.name, numberOrDash(m.precision, 3), numberOrDash(m.recall, 3),
                  numberOrDash(m.f1, 3), std::to_string(m.support)});
  }
  return table.render();
}

std::string evaluationConfusionTable(const tracking::EvaluationRecord& e) {
  std::vector<std::string> header = {"true\\pred"};
  for (const auto& name : e.class_names) header.push_back(name.substr(0, 3));
  TextTable table(header);
  const std::size_t k = e.class_names.size();
  for (std::size_t r = 0; r < e.classes.size(); ++r) {
    std::vector<std::string> cells = {nameOf(e, e.classes[r])};
    for (std::size_t c = 0; c < k; ++c) cells.push_back(std::to_string(e.confusion[r * k + c]));
    table.addRow(cells);
  }
  return table.render();
}

std::string classMapText(const std::string& class_map_json) {
  const json map = json::parse(class_map_json);  // items() refers to it: keep it alive
  std::string text;
  for (const auto& [from, to] : map.items()) {
    text += fmt::format("{}{} -> {}", text.empty() ? "" : ", ", from,
                        to.is_null() ? std::string("(dropped)") : to.get<std::string>());
  }
  return text;
}

}  // namespace ferlab::cli
