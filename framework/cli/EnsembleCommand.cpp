// `ferlab ensemble`: averages the stored probabilities of recorded runs (report/Ensemble.h),
// members and weights chosen on PublicTest, PrivateTest evaluated once, and records the
// result as a run of kind ensemble.

#include <filesystem>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/cli/Table.h"
#include "framework/core/Errors.h"
#include "framework/report/Ensemble.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::cli {
namespace {

report::SelectionMethod parseSelectionMethod(const std::string& name) {
  for (const auto method : {report::SelectionMethod::All, report::SelectionMethod::Greedy}) {
    if (name == report::selectionMethodName(method)) return method;
  }
  throw UsageError(fmt::format("--select {}: expected all or greedy", name));
}

std::string selectionText(const report::EnsembleOutcome& outcome) {
  const report::Selection& selection = outcome.selection;
  if (selection.method == report::SelectionMethod::All) {
    return fmt::format("all {} candidates, equal weights", outcome.candidates.size());
  }
  return fmt::format(
      "greedy forward selection with replacement (Caruana et al. 2004) over {} candidates: {} "
      "rounds, the first {} kept (the best PublicTest accuracy)",
      outcome.candidates.size(), selection.picks.size(), selection.kept);
}

void printOutcome(const report::EnsembleOutcome& outcome, const std::string& db_path) {
  const tracking::RunRecord& record = outcome.run.record;
  fmt::print("ensemble {}  {}  (experiment {})\n", record.id, record.name, record.experiment);
  fmt::print("selected on PublicTest only: {}\n", selectionText(outcome));
  for (const std::string& run : outcome.left_out) fmt::print("left out: {}\n", run);
  TextTable table({"MEMBER", "NAME", "EXPERIMENT", "WEIGHT", "PUBLICTEST", "PRIVATETEST"});
  const tracking::RunRow* best_single = nullptr;
  for (const tracking::RunRow& candidate : outcome.candidates) {
    if (best_single == nullptr ||
        candidate.summary.best_val_accuracy > best_single->summary.best_val_accuracy) {
      best_single = &candidate;
    }
  }
  for (const tracking::EnsembleMember& member : outcome.members) {
    for (const tracking::RunRow& candidate : outcome.candidates) {
      if (candidate.record.id != member.run_id) continue;
      table.addRow({candidate.record.id, candidate.record.name, candidate.record.experiment,
                    fmt::format("{:.4f}", member.weight),
                    percentOrDash(candidate.summary.best_val_accuracy),
                    percentOrDash(candidate.summary.test_accuracy)});
    }
  }
  fmt::print("{}", table.render());
  fmt::print("PublicTest  accuracy {}  macro-F1 {:.3f}  NLL {:.4f}",
             percentOrDash(outcome.validation.accuracy), outcome.validation.macro_f1,
             outcome.validation.loss);
  if (best_single != nullptr) {
    fmt::print("  (best single candidate {} {})", best_single->record.id,
               percentOrDash(best_single->summary.best_val_accuracy));
  }
  fmt::print(
      "\nPrivateTest accuracy {}  macro-F1 {:.3f}  NLL {:.4f}  (evaluated once, with the "
      "chosen weights)\n",
      percentOrDash(outcome.test.accuracy), outcome.test.macro_f1, outcome.test.loss);
  fmt::print("recorded in {} as run {} (ferlab show {})\n", db_path, record.id, record.id);
}

}  // namespace

int ensembleCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  report::EnsembleRequest request;
  std::string db_path, select;
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("run", po::value(&request.runs)->composing(), "run id or unique prefix (positional, repeatable)")
      ("experiment,e", po::value(&request.experiment), "every finished training run of this experiment")
      ("select", po::value(&select)->default_value("greedy"), "greedy (forward selection with replacement on PublicTest, Caruana et al. 2004) or all (equal weights)")
      ("rounds", po::value(&request.rounds)->default_value(0), "greedy rounds; 0: twice the candidates, at least 10")
      ("name", po::value(&request.name)->required(), "the ensemble run's name")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("run", -1);
  po::variables_map values;
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab ensemble (RUN... | --experiment E) [--select all|greedy] "
                        "[--rounds N] --name NAME [--db PATH]\n\n"
                        "Averages the stored softmax probabilities of finished runs (no model is "
                        "run again). Members and weights are chosen on PublicTest only; "
                        "PrivateTest is evaluated once with them. The result is recorded as a "
                        "run of kind ensemble: ferlab ls, show and report treat it as a run.",
                        values)) {
    return 0;
  }
  request.method = parseSelectionMethod(select);
  // Opening read-write would create a store at a mistyped path; ensembles need recorded runs.
  if (!std::filesystem::exists(db_path)) {
    throw StoreError(db_path +
                     ": no tracking store here: the file does not exist (check --db; "
                     "`ferlab run` creates the store)");
  }
  tracking::SqliteStore store(db_path);
  printOutcome(report::buildEnsemble(store, request), db_path);
  return 0;
}

}  // namespace ferlab::cli
