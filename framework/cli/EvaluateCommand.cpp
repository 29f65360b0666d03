// `ferlab evaluate --run RUN --data PATH`: cross-dataset evaluation. The run's selected
// checkpoint (best.pt, chosen on PublicTest) classifies another dataset, prepared the way the
// run's training data was, with the dataset's classes mapped to the model's; both accuracies,
// macro-F1, per-class metrics, the confusion matrix and per-sample predictions are printed
// and recorded in the store (train/CrossDatasetEvaluation.h, data/CrossDataset.h). An
// ensemble (`--ensemble NAME`, or a --run of kind 'ensemble') averages its members'
// probabilities with their weights.

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/cli/EvaluationOutput.h"
#include "framework/cli/Table.h"
#include "framework/core/Errors.h"
#include "framework/data/ClassMap.h"
#include "framework/data/CrossDataset.h"
#include "framework/tracking/SqliteStore.h"
#include "framework/train/CrossDatasetEvaluation.h"
#include "framework/train/TrainedModel.h"

namespace ferlab::cli {
namespace {

void printText(const tracking::RunRow& row, const tracking::EvaluationRecord& e, bool replaced,
               std::size_t members, const std::string& db_path) {
  fmt::print("run {}  {}{}\n", row.record.id, row.record.name,
             members > 1 ? fmt::format("  (ensemble of {} runs)", members) : std::string());
  fmt::print("dataset {} ({}, {})  content {}\n", e.dataset, e.format, e.dataset_path,
             e.content_hash);
  fmt::print("{} images evaluated, {} dropped; class map: {}\n", e.images, e.dropped_images,
             classMapText(e.class_map));
  if (e.alignment.aligned >= 0) {
    fmt::print("face alignment: {} aligned, {} face only, {} no face\n", e.alignment.aligned,
               e.alignment.face_only, e.alignment.none);
  }
  std::string kept;
  for (const auto& m : e.class_metrics) kept += (kept.empty() ? "" : ", ") + m.name;
  fmt::print(
      "\naccuracy {} (argmax over all {} classes)  restricted accuracy {} (argmax over {})  "
      "macro-F1 {:.3f}\n",
      percentOrDash(e.accuracy), e.class_names.size(), percentOrDash(e.restricted_accuracy), kept,
      e.macro_f1);
  fmt::print("\n{}", evaluationClassTable(e));
  fmt::print("\nconfusion matrix (rows = true, columns = predicted):\n{}",
             evaluationConfusionTable(e));
  fmt::print("\nrecorded in {}{}\n", db_path,
             replaced ? " (replacing the earlier evaluation of the same data and class map)" : "");
}

}  // namespace

int evaluateCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::string db_path, run_id, ensemble, data_path, format_name, class_map_file, results_dir,
      device;
  std::vector<std::string> maps;
  int threads = 0;
  // clang-format off
  options.add_options()
      ("run", po::value(&run_id), "run id (or a unique prefix); a run of kind 'ensemble' is "
                                  "evaluated as --ensemble")
      ("ensemble", po::value(&ensemble), "ensemble run (ferlab ensemble) by name or id: its "
                                         "members' probabilities averaged with their weights")
      ("data", po::value(&data_path)->required(), "dataset: a folder of class folders, "
                                                  "FER2013's image-folder layout or a "
                                                  "challenge CSV")
      ("format", po::value(&format_name)->default_value("auto"), "auto | folder | fer2013 | csv")
      ("class-map", po::value(&class_map_file), "file of dataset_class=model_class lines "
                                                "(# comments; an empty value drops the class)")
      ("map", po::value(&maps)->composing(), "dataset_class=model_class (repeatable; after "
                                             "--class-map's lines; anger=angry, contempt=)")
      ("json", "print the evaluation, with per-sample predictions, as one JSON document")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)")
      ("results", po::value(&results_dir)->default_value("results"), "folder holding runs/<id>/")
      ("device", po::value(&device), "cpu (default), cuda, cuda:N")
      ("threads", po::value(&threads)->default_value(0), "image preparation workers (0 = all "
                                                         "cores)");
  // clang-format on
  po::positional_options_description positional;
  po::variables_map values;
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab evaluate --run RUN | --ensemble NAME --data PATH "
                        "[--format auto|folder|fer2013|csv] [--class-map FILE] [--map k=v]... "
                        "[--json] [--db PATH] [--results DIR] [--device D]",
                        values))
    return 0;
  if (run_id.empty() == ensemble.empty())
    throw UsageError("give exactly one of --run RUN and --ensemble NAME");

  data::CrossDatasetOptions dataset;
  dataset.path = data_path;
  dataset.format = data::parseCrossDatasetFormat(format_name);
  dataset.threads = threads;
  if (!class_map_file.empty()) dataset.rules = data::readClassMapFile(class_map_file);
  for (const std::string& map : maps)
    dataset.rules.push_back(data::parseClassMapRule(map, "--map"));

  // Recording needs a writable store, but a mistyped --db must not create an empty one.
  if (!std::filesystem::exists(db_path))
    throw StoreError(fmt::format("{}: no tracking store here", db_path));
  tracking::SqliteStore store(db_path);
  const tracking::RunRow row =
      store.getRun(ensemble.empty() ? run_id : store.findEnsembleRun(ensemble));
  // A trained run is its own single member; an ensemble lists its members.
  std::vector<tracking::EnsembleMember> members = store.ensembleMembers(row.record.id);
  if (!ensemble.empty() && members.empty())
    throw StoreError(fmt::format("ensemble {} has no members", row.record.id));
  if (members.empty()) members.push_back({row.record.id, 1.0});

  std::vector<std::unique_ptr<train::TrainedModel>> models;
  std::vector<train::WeightedModel> weighted;
  for (const auto& member : members) {
    models.push_back(
        std::make_unique<train::TrainedModel>(store.getRun(member.run_id), results_dir, device));
    weighted.push_back({models.back().get(), member.weight});
  }
  const auto& first = *models.front();
  const std::vector<std::string> class_names =
      train::runClassNames(store, first.runId(), first.config().model.num_classes);
  tracking::EvaluationRecord evaluation =
      train::evaluateOnDataset(row.record.id, weighted, class_names, dataset);
  const bool replaced = store.recordEvaluation(evaluation);
  // The stored copy, with its time stamp.
  for (auto& stored : store.evaluations(row.record.id)) {
    if (stored.content_hash == evaluation.content_hash && stored.class_map == evaluation.class_map)
      evaluation.evaluated_at = stored.evaluated_at;
  }
  if (values.count("json")) {
    nlohmann::json out = evaluationToJson(evaluation, true);
    out["name"] = row.record.name;
    out["replaced"] = replaced;
    std::cout << out.dump(2) << "\n";
  } else {
    printText(row, evaluation, replaced, members.size(), db_path);
  }
  return 0;
}

}  // namespace ferlab::cli
