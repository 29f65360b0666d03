#include "framework/cli/SelectionOptions.h"

#include <algorithm>
#include <set>

#include "framework/core/Log.h"

namespace ferlab::cli {

void addSelectionOptions(po::options_description& options,
                         po::positional_options_description& positional, SelectionArgs& args) {
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("run", po::value(&args.runs)->composing(), "run id or unique prefix (positional, repeatable)")
      ("experiment,e", po::value(&args.experiments)->composing(), "only runs of this experiment (repeatable)")
      ("where", po::value(&args.where)->composing(),
       "only runs whose param KEY equals VALUE, as KEY=VALUE (repeatable, all must hold; numbers "
       "compare numerically; also status, name, backbone, kind), e.g. train.lr=0.001");
  // clang-format on
  positional.add("run", -1);
}

report::RunSelection toSelection(const SelectionArgs& args) {
  report::RunSelection selection;
  selection.run_ids = args.runs;
  selection.experiments = args.experiments;
  for (const auto& text : args.where) selection.where.push_back(report::parseWhere(text));
  return selection;
}

std::vector<tracking::RunRow> selectRunsFromArgs(const tracking::SqliteStore& store,
                                                 const SelectionArgs& args) {
  const auto selection = toSelection(args);
  auto selected = report::selectRuns(store, selection);
  if (!selection.where.empty() && selected.empty()) {
    std::set<std::string> keys = {"status", "experiment", "name", "id", "backbone", "kind"};
    for (const auto& row : store.listRuns()) {
      for (const auto& param : row.record.params) keys.insert(param.first);
    }
    for (const auto& [key, value] : selection.where) {
      if (keys.count(key)) continue;
      log::warn(
          "--where {}={}: no run in {} has the key '{}' (keys are flattened config keys "
          "such as train.lr or model.batch_norm; `ferlab export` lists them)",
          key, value, store.path(), key);
    }
  }
  return selected;
}

}  // namespace ferlab::cli
