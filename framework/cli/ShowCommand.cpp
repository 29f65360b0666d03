#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/cli/EvaluationOutput.h"
#include "framework/cli/Table.h"
#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"
#include "framework/core/Progress.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::cli {
namespace {

using nlohmann::json;

std::string epochsTable(const std::vector<tracking::EpochRecord>& epochs, int best_epoch) {
  TextTable table({"EPOCH", "PHASE", "LR", "TRAIN_LOSS", "TRAIN_ACC", "VAL_LOSS", "VAL_ACC",
                   "VAL_F1", "IMG/S", "SEC"});
  for (const auto& epoch : epochs) {
    table.addRow({fmt::format("{}{}", epoch.epoch, epoch.epoch == best_epoch ? "*" : ""),
                  epoch.phase, fmt::format("{:.3g}", epoch.lr), numberOrDash(epoch.train_loss, 4),
                  percentOrDash(epoch.train_accuracy), numberOrDash(epoch.val_loss, 4),
                  percentOrDash(epoch.val_accuracy), numberOrDash(epoch.val_macro_f1, 3),
                  numberOrDash(epoch.images_per_sec, 0), numberOrDash(epoch.seconds, 1)});
  }
  return table.render();
}

std::string phasesTable(const std::vector<tracking::PhaseRecord>& phases) {
  TextTable table({"PHASE", "EPOCHS", "TRAINABLE", "TOTAL", "TRAINABLE %"});
  for (const auto& phase : phases) {
    const double share =
        phase.total_params > 0 ? 100.0 * phase.trainable_params / phase.total_params : 0.0;
    table.addRow({phase.name,
                  fmt::format("{}-{}", phase.first_epoch, phase.first_epoch + phase.epochs - 1),
                  std::to_string(phase.trainable_params), std::to_string(phase.total_params),
                  fmt::format("{:.1f}%", share)});
  }
  return table.render();
}

std::string classTable(const tracking::SplitMetrics& split) {
  TextTable table({"CLASS", "PRECISION", "RECALL", "F1", "SUPPORT"});
  for (const auto& c : split.classes) {
    table.addRow({c.name, numberOrDash(c.precision, 3), numberOrDash(c.recall, 3),
                  numberOrDash(c.f1, 3), std::to_string(c.support)});
  }
  return table.render();
}

// Counts with rows = true class, columns = predicted class, headed by 3-letter class names.
std::string confusionTable(const tracking::SplitMetrics& split) {
  std::vector<std::string> header = {"true\\pred"};
  for (const auto& c : split.classes) header.push_back(c.name.substr(0, 3));
  TextTable table(header);
  const auto k = split.classes.size();
  for (std::size_t row = 0; row < k; ++row) {
    std::vector<std::string> cells = {split.classes[row].name};
    for (std::size_t column = 0; column < k; ++column)
      cells.push_back(std::to_string(split.confusion[row * k + column]));
    table.addRow(cells);
  }
  return table.render();
}

json splitToJson(const tracking::SplitMetrics& split) {
  json classes = json::array();
  for (const auto& c : split.classes) {
    classes.push_back({{"name", c.name},
                       {"precision", c.precision},
                       {"recall", c.recall},
                       {"f1", c.f1},
                       {"support", c.support}});
  }
  return {{"split", split.split},       {"loss", split.loss}, {"accuracy", split.accuracy},
          {"macro_f1", split.macro_f1}, {"classes", classes}, {"confusion", split.confusion}};
}

// Alignment outcomes over the run's dataset; null when alignment was off or is unknown.
json alignmentJson(const tracking::AlignmentCounts& counts) {
  if (counts.aligned < 0) return nullptr;
  return {{"aligned", counts.aligned}, {"face_only", counts.face_only}, {"none", counts.none}};
}

void printJson(const tracking::RunRow& row, const std::vector<tracking::PhaseRecord>& phases,
               const std::vector<tracking::EpochRecord>& epochs,
               const std::vector<tracking::SplitMetrics>& splits, const json& members,
               const std::vector<tracking::EvaluationRecord>& evaluations) {
  const auto& record = row.record;
  json epochs_json = json::array(), splits_json = json::array();
  for (const auto& e : epochs) {
    epochs_json.push_back({{"epoch", e.epoch},
                           {"phase", e.phase},
                           {"lr", e.lr},
                           {"train_loss", e.train_loss},
                           {"train_accuracy", e.train_accuracy},
                           {"val_loss", e.val_loss},
                           {"val_accuracy", e.val_accuracy},
                           {"val_macro_f1", e.val_macro_f1},
                           {"images_per_sec", e.images_per_sec},
                           {"seconds", e.seconds},
                           {"class_counts", e.class_counts}});
  }
  for (const auto& split : splits) splits_json.push_back(splitToJson(split));
  json evaluations_json = json::array();
  for (const auto& e : evaluations) evaluations_json.push_back(evaluationToJson(e, false));
  json phases_json = json::array();
  for (const auto& p : phases) {
    phases_json.push_back({{"name", p.name},
                           {"first_epoch", p.first_epoch},
                           {"epochs", p.epochs},
                           {"trainable_params", p.trainable_params},
                           {"total_params", p.total_params}});
  }
  const json out = {
      {"id", record.id},
      {"name", record.name},
      {"experiment", record.experiment},
      {"status", tracking::statusName(record.status)},
      {"kind", tracking::kindName(record.kind)},
      {"members", members},  // an ensemble's; empty for a training run
      {"config", json::parse(record.config_json)},
      {"config_hash", record.config_hash},
      {"git_commit", record.git_commit},
      {"torch_version", record.torch_version},
      {"opencv_version", record.opencv_version},
      {"device", record.device},
      {"precision", record.precision.empty() ? json(nullptr) : json(record.precision)},
      {"dataset_key", record.dataset_key},
      {"started_at", record.started_at},
      {"ended_at", record.ended_at},
      {"error", record.error},
      {"pretrained", record.pretrained < 0 ? json(nullptr) : json(record.pretrained == 1)},
      {"weights_loaded", record.weights_loaded < 0 ? json(nullptr) : json(record.weights_loaded)},
      {"weights_total", record.weights_total < 0 ? json(nullptr) : json(record.weights_total)},
      {"alignment", alignmentJson(record.alignment)},
      {"best_epoch", row.summary.best_epoch},
      {"phases", phases_json},
      {"epochs", epochs_json},
      {"splits", splits_json},
      {"evaluations", evaluations_json}};
  std::cout << out.dump(2) << "\n";
}

// Training samples per class that the first and the last epoch presented (after balancing).
void printClassCounts(const std::vector<tracking::EpochRecord>& epochs,
                      const std::vector<tracking::SplitMetrics>& splits) {
  std::vector<const tracking::EpochRecord*> shown;
  for (const auto& epoch : epochs) {
    if (!epoch.class_counts.empty()) shown.push_back(&epoch);
  }
  if (shown.empty()) return;
  if (shown.size() > 2) shown.erase(shown.begin() + 1, shown.end() - 1);
  std::vector<std::string> names;
  if (!splits.empty()) {
    for (const auto& c : splits.front().classes) names.push_back(c.name);
  }
  fmt::print("\ntraining samples per class (after balancing){}:\n",
             names.size() == shown.front()->class_counts.size()
                 ? fmt::format(", {}", fmt::join(names, " "))
                 : std::string());
  for (const auto* epoch : shown) {
    std::int64_t total = 0;
    for (const auto count : epoch->class_counts) total += count;
    fmt::print("  epoch {}: {} (total {})\n", epoch->epoch, fmt::join(epoch->class_counts, " "),
               total);
  }
}

// "yes (120 of 120 backbone tensors from the weight file)", "no (random init)".
std::string pretrainedText(const tracking::RunRecord& record) {
  if (record.pretrained != 1) return "no (random init)";
  if (record.weights_loaded < 0) return "yes";  // recorded before schema v5
  return fmt::format("yes ({} of {} backbone tensors from the weight file)", record.weights_loaded,
                     record.weights_total);
}

// An ensemble's member as the store knows it now; nullopt when it is no longer there.
struct Member {
  tracking::EnsembleMember member;
  std::optional<tracking::RunRow> row;
};

std::vector<Member> membersOf(const tracking::SqliteStore& store,
                              const tracking::RunRecord& record) {
  std::vector<Member> members;
  for (const auto& member : store.ensembleMembers(record.id)) {
    std::optional<tracking::RunRow> row;
    try {
      row = store.getRun(member.run_id);
    } catch (const StoreError&) {
      // Deleted since: the ensemble keeps its record, shown without the member's details.
    }
    members.push_back({member, std::move(row)});
  }
  return members;
}

std::string membersTable(const std::vector<Member>& members) {
  TextTable table({"MEMBER", "WEIGHT", "NAME", "EXPERIMENT", "PUBLICTEST", "PRIVATETEST"});
  for (const auto& [member, row] : members) {
    table.addRow({member.run_id, fmt::format("{:.4f}", member.weight),
                  row ? row->record.name : "(not in the store)", row ? row->record.experiment : "-",
                  row ? percentOrDash(row->summary.best_val_accuracy) : "-",
                  row ? percentOrDash(row->summary.test_accuracy) : "-"});
  }
  return table.render();
}

json membersJson(const std::vector<Member>& members) {
  json out = json::array();
  for (const auto& [member, row] : members) {
    out.push_back({{"run_id", member.run_id},
                   {"weight", member.weight},
                   {"name", row ? json(row->record.name) : json(nullptr)},
                   {"experiment", row ? json(row->record.experiment) : json(nullptr)}});
  }
  return out;
}

// `ensemble.select` and friends of an ensemble's config_json, as one line.
std::string ensembleSelectionText(const tracking::RunRecord& record) {
  const json config = json::parse(record.config_json, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object() || !config.contains("ensemble")) return "unknown";
  const json& e = config["ensemble"];
  const std::string select = e.value("select", std::string("unknown"));
  if (select != "greedy") return select + " (equal weights)";
  return fmt::format(
      "greedy forward selection with replacement (Caruana et al. 2004), {} rounds, first {} kept",
      e.value("rounds", 0), e.value("kept_rounds", 0));
}

void printEnsembleText(const tracking::RunRow& row, const std::vector<Member>& members,
                       const std::vector<tracking::SplitMetrics>& splits) {
  const auto& record = row.record;
  const auto& summary = row.summary;
  fmt::print("run {}  {}  [{}]  ensemble of {} run{}\n", record.id, record.name,
             tracking::statusName(record.status), members.size(), members.size() == 1 ? "" : "s");
  fmt::print("experiment {}  dataset {}\n", record.experiment,
             record.dataset_key.empty() ? "-" : record.dataset_key);
  fmt::print("recorded {}  git {}  ferlab {}\n", record.ended_at.empty() ? "-" : record.ended_at,
             record.git_commit, record.ferlab_version);
  fmt::print(
      "\nselection: members and weights chosen on PublicTest only ({}); PrivateTest evaluated "
      "once with them. No epochs, no checkpoint: the members' stored probabilities, averaged.\n",
      ensembleSelectionText(record));
  fmt::print("PublicTest acc {}  PrivateTest acc {}  PrivateTest macro-F1 {}\n",
             percentOrDash(summary.best_val_accuracy), percentOrDash(summary.test_accuracy),
             numberOrDash(summary.test_macro_f1, 3));
  if (const double eval_subset = config::evalSubsetOf(record.config_json); eval_subset < 1.0) {
    fmt::print(
        "NOT COMPARABLE with published results: its members' PublicTest and PrivateTest were "
        "thinned to {:g} (data.eval_subset, a smoke test)\n",
        eval_subset);
  }
  fmt::print("\nmembers (weights sum to 1):\n{}", membersTable(members));
  for (const auto& split : splits) {
    fmt::print("\n{}: accuracy {}  macro-F1 {:.3f}  NLL {:.4f}\n{}", split.split,
               percentOrDash(split.accuracy), split.macro_f1, split.loss, classTable(split));
    fmt::print("\n{} confusion matrix (rows = true, columns = predicted):\n{}", split.split,
               confusionTable(split));
  }
}

// The run's cross-dataset evaluations (`ferlab evaluate`): one row each, then each one's
// class map and confusion matrix.
void printEvaluations(const std::vector<tracking::EvaluationRecord>& evaluations) {
  if (evaluations.empty()) return;
  fmt::print(
      "\nCross-dataset (ferlab evaluate; the selected checkpoint on other datasets; accuracy: "
      "argmax over all classes, restricted: over the dataset's classes):\n{}",
      evaluationsTable(evaluations));
  for (const auto& e : evaluations) {
    fmt::print(
        "\n{} ({} images, {} dropped; class map: {}) confusion matrix (rows = true, "
        "columns = predicted):\n{}",
        e.dataset, e.images, e.dropped_images, classMapText(e.class_map),
        evaluationConfusionTable(e));
  }
}

void printText(const tracking::RunRow& row, const std::vector<tracking::PhaseRecord>& phases,
               const std::vector<tracking::EpochRecord>& epochs,
               const std::vector<tracking::SplitMetrics>& splits,
               const std::vector<tracking::EvaluationRecord>& evaluations) {
  const auto& record = row.record;
  const auto& summary = row.summary;
  fmt::print("run {}  {}  [{}]\n", record.id, record.name, tracking::statusName(record.status));
  fmt::print("experiment {}  backbone {}  seed {}  device {}  precision {}\n", record.experiment,
             record.backbone, record.seed, record.device.empty() ? "-" : record.device,
             record.precision.empty() ? "-" : record.precision);
  fmt::print("started {}  ended {}  duration {}\n",
             record.started_at.empty() ? "-" : record.started_at,
             record.ended_at.empty() ? "-" : record.ended_at,
             summary.duration_s < 0 ? "-" : core::formatDuration(summary.duration_s));
  fmt::print("git {}  ferlab {}  libtorch {}  opencv {}\n", record.git_commit,
             record.ferlab_version, record.torch_version, record.opencv_version);
  fmt::print("config hash {}  dataset {}\n", record.config_hash, record.dataset_key);
  if (record.pretrained >= 0) fmt::print("pretrained {}\n", pretrainedText(record));
  if (record.alignment.aligned >= 0) {
    fmt::print("face alignment: {} aligned, {} face only, {} no face\n", record.alignment.aligned,
               record.alignment.face_only, record.alignment.none);
  }
  if (!record.error.empty()) fmt::print("error: {}\n", record.error);
  fmt::print(
      "\nselection: best epoch {} by validation (PublicTest); PrivateTest evaluated once on it\n",
      summary.best_epoch);
  fmt::print("PublicTest acc {}  PrivateTest acc {}  PrivateTest macro-F1 {}  train {} img/s\n",
             percentOrDash(summary.best_val_accuracy), percentOrDash(summary.test_accuracy),
             numberOrDash(summary.test_macro_f1, 3), numberOrDash(summary.images_per_sec, 0));
  if (const double eval_subset = config::evalSubsetOf(record.config_json); eval_subset < 1.0) {
    fmt::print(
        "NOT COMPARABLE with published results: PublicTest and PrivateTest thinned to {:g} "
        "(data.eval_subset, a smoke test)\n",
        eval_subset);
  }
  fmt::print("\nresolved config:\n{}\n", json::parse(record.config_json).dump(2));
  if (!phases.empty()) fmt::print("\nphases:\n{}", phasesTable(phases));
  if (!epochs.empty())
    fmt::print("\nepochs (* = selected):\n{}", epochsTable(epochs, summary.best_epoch));
  printClassCounts(epochs, splits);
  for (const auto& split : splits) {
    fmt::print("\n{}: accuracy {}  macro-F1 {:.3f}  loss {:.4f}\n{}", split.split,
               percentOrDash(split.accuracy), split.macro_f1, split.loss, classTable(split));
    fmt::print("\n{} confusion matrix (rows = true, columns = predicted):\n{}", split.split,
               confusionTable(split));
  }
  printEvaluations(evaluations);
}

}  // namespace

int showCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::string db_path, run_id;
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("run", po::value(&run_id)->required(), "run id (or a unique prefix)")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)")
      ("json", "print JSON instead of text");
  // clang-format on
  po::positional_options_description positional;
  positional.add("run", 1);
  po::variables_map values;
  if (!parseCommandLine(args, options, positional, "usage: ferlab show RUN [--json] [--db PATH]",
                        values))
    return 0;
  const tracking::SqliteStore store(db_path, tracking::OpenMode::ReadOnly);
  const auto row = store.getRun(run_id);
  const auto epochs = store.epochs(row.record.id);
  const auto splits = store.splitMetrics(row.record.id);
  const auto phases = store.phases(row.record.id);
  const auto members = membersOf(store, row.record);
  const auto evaluations = store.evaluations(row.record.id);
  if (values.count("json")) {
    printJson(row, phases, epochs, splits, membersJson(members), evaluations);
  } else if (row.record.kind == tracking::RunKind::Ensemble) {
    printEnsembleText(row, members, splits);
    printEvaluations(evaluations);
  } else {
    printText(row, phases, epochs, splits, evaluations);
  }
  return 0;
}

}  // namespace ferlab::cli
