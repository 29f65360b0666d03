#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/config/ConfigLoader.h"
#include "framework/core/Log.h"
#include "framework/train/GridRunner.h"

namespace ferlab::cli {

int runCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::string config_path, db_path, device, results_dir;
  std::vector<std::string> overrides;
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("config", po::value(&config_path)->required(), "experiment TOML file")
      ("set", po::value(&overrides)->composing(), "override a config key: --set train.lr=0.001 (repeatable)")
      ("device", po::value(&device), "cpu, cuda or cuda:N (overrides train.device)")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)")
      ("results", po::value(&results_dir)->default_value("results"), "folder for runs/<id>/ checkpoints")
      ("dry-run", "print the resolved runs and exit without training")
      ("print-defaults", "print the default config (every key) and exit")
      ("print-reference", "print README's config reference (Markdown) and exit");
  // clang-format on
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map values;
  if (std::find(args.begin(), args.end(), "--print-defaults") != args.end()) {
    std::cout << config::defaultConfigToml();
    return 0;
  }
  if (std::find(args.begin(), args.end(), "--print-reference") != args.end()) {
    std::cout << config::configReferenceMarkdown();
    return 0;
  }
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab run CONFIG [--set key=value]... [--device D] [--db PATH]",
                        values)) {
    return 0;
  }
  const auto experiment = config::loadExperiment(config_path, overrides);
  if (values.count("dry-run")) {
    for (const auto& run : experiment.runs) {
      fmt::print("{} {} {}\n", train::runId(experiment.name, run.config_hash), run.name,
                 run.resolved_json);
    }
    return 0;
  }
  log::info("experiment {}: {} run(s) from {}", experiment.name, experiment.runs.size(),
            config_path);
  train::GridRunOptions run_options;
  run_options.db_path = db_path;
  run_options.results_dir = results_dir;
  run_options.device = device;
  const auto outcome = train::runGrid(experiment, run_options);
  log::info("experiment {}: {} finished, {} skipped (already finished), {} failed; store {}",
            experiment.name, outcome.finished, outcome.skipped, outcome.failed, db_path);
  return outcome.failed > 0 ? 1 : 0;
}

}  // namespace ferlab::cli
