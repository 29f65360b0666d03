#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <torch/cuda.h>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/cli/RunWorkers.h"
#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/core/Provenance.h"
#include "framework/core/StopSignal.h"
#include "framework/train/GridRunner.h"
#include "framework/train/Trainer.h"

namespace ferlab::cli {
namespace {

struct RunArguments {
  std::string config_path, db_path, device, results_dir, retry_failed_before, tensorboard_dir,
      mlflow_uri;
  std::vector<std::string> overrides;
  int workers = 0, workers_per_gpu = 1, cell = -1, threads = 0, worker_slot = -1;
  double claim_timeout_s = 120;
  bool shard = false, wait_for_held = false;
};

// The command line each worker of --workers gets: this one's, less --workers, plus what
// makes it a worker (it waits for the others' runs, to take over any whose worker dies, and
// retries only failures from before the parent started).
std::vector<std::string> workerArguments(const RunArguments& run) {
  std::vector<std::string> args = {run.config_path,
                                   "--db",
                                   run.db_path,
                                   "--results",
                                   run.results_dir,
                                   "--claim-timeout",
                                   fmt::format("{}", run.claim_timeout_s),
                                   "--wait-for-held",
                                   "--retry-failed-before",
                                   core::utcNowIso8601()};
  for (const auto& override : run.overrides) args.insert(args.end(), {"--set", override});
  if (!run.device.empty()) args.insert(args.end(), {"--device", run.device});
  if (!run.tensorboard_dir.empty()) args.insert(args.end(), {"--tensorboard", run.tensorboard_dir});
  if (!run.mlflow_uri.empty()) args.insert(args.end(), {"--mlflow", run.mlflow_uri});
  return args;
}

int startWorkers(const RunArguments& run, const config::ExperimentGrid& experiment) {
  if (run.cell >= 0 || run.shard) {
    throw UsageError(
        "--workers shares one store between processes; it does not combine with "
        "--cell or --shard (one process per shard)");
  }
  const std::string device_name =
      run.device.empty() ? experiment.runs.front().config.train.device : run.device;
  const bool cuda = train::resolveDevice(device_name).is_cuda();
  const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const WorkerPlan plan =
      planWorkers(run.workers, run.workers_per_gpu, cuda,
                  cuda ? static_cast<int>(torch::cuda::device_count()) : 0, cpus);
  log::info("experiment {}: {} run(s) from {}, {} workers", experiment.name, experiment.runs.size(),
            run.config_path, run.workers);
  return runWorkers(workerArguments(run), plan);
}

// The value every cell of the grid gives `key` (a [tracking] setting); one server or folder
// serves the whole invocation, so cells that differ are a config error naming the key.
std::string gridWide(const config::ExperimentGrid& experiment, const std::string& config_path,
                     const char* key, std::string config::TrackingConfig::*field) {
  const std::string& first = experiment.runs.front().config.tracking.*field;
  for (const auto& resolved : experiment.runs) {
    const std::string& value = resolved.config.tracking.*field;
    if (value != first) {
      throw ConfigError(fmt::format(
          "{}: {} differs between grid cells ('{}' in {}, '{}' in {}); one value per grid",
          config_path, key, first, experiment.runs.front().name, value, resolved.name));
    }
  }
  return first;
}

// --mlflow URI, else [tracking] mlflow_uri, else MLflow's own MLFLOW_TRACKING_URI when it
// names a tracking server (a file: or databricks URI is MLflow's business, not a server
// FERLab can reach over REST).
std::string mlflowUri(const std::string& option, const std::string& from_config) {
  if (!option.empty()) return option;
  if (!from_config.empty()) return from_config;
  const char* from_environment = std::getenv("MLFLOW_TRACKING_URI");
  if (from_environment == nullptr) return "";
  const std::string uri = from_environment;
  if (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) return uri;
  if (!uri.empty())
    log::warn("MLFLOW_TRACKING_URI={}: not an http(s) tracking server, runs are not mirrored", uri);
  return "";
}

}  // namespace

int runCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  RunArguments run;
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("config", po::value(&run.config_path)->required(), "experiment TOML file")
      ("set", po::value(&run.overrides)->composing(), "override a config key: --set train.lr=0.001 (repeatable)")
      ("device", po::value(&run.device), "cpu, cuda or cuda:N (overrides train.device)")
      ("db", po::value(&run.db_path)->default_value(defaultDbPath()), "tracking store (SQLite)")
      ("results", po::value(&run.results_dir)->default_value("results"), "folder for runs/<id>/ checkpoints")
      ("tensorboard", po::value(&run.tensorboard_dir), "also write each run's epochs and confusion matrices as a TensorBoard event file under DIR/<run name>_<run id>/ (default: [tracking] tensorboard_dir)")
      ("mlflow", po::value(&run.mlflow_uri), "also mirror each run to the MLflow tracking server at URI (default: [tracking] mlflow_uri, else $MLFLOW_TRACKING_URI when it is an http(s) URI)")
      ("workers", po::value(&run.workers), "train with N worker processes sharing the grid through run claims")
      ("workers-per-gpu", po::value(&run.workers_per_gpu)->default_value(1), "with --workers on CUDA: workers packed onto one GPU")
      ("threads", po::value(&run.threads), "CPU threads per run (overrides train.threads)")
      ("cell", po::value(&run.cell), "train only grid cell I (0-based, as --dry-run lists them), e.g. a Slurm array task's")
      ("shard", "record into a single-writer shard store (rollback journal; for network filesystems); combine shards with `ferlab merge`")
      ("claim-timeout", po::value(&run.claim_timeout_s)->default_value(120), "seconds without a heartbeat after which another process takes a run over")
      ("wait-for-held", "keep waiting for runs other processes hold, to take over any whose owner dies (set by --workers)")
      ("retry-failed-before", po::value(&run.retry_failed_before), "retry failed runs that ended before this ISO 8601 time (set by --workers)")
      ("worker-slot", po::value(&run.worker_slot), "this worker's number, for its log lines (set by --workers)")
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
                        "usage: ferlab run CONFIG [--set key=value]... [--device D] [--db PATH] "
                        "[--tensorboard DIR] [--workers N | --cell I [--shard]]",
                        values)) {
    return 0;
  }
  run.shard = values.count("shard") > 0;
  run.wait_for_held = values.count("wait-for-held") > 0;
  if (run.claim_timeout_s <= 0) {
    throw UsageError(
        fmt::format("--claim-timeout {}: give a positive number of seconds", run.claim_timeout_s));
  }
  if (run.threads < 0) throw UsageError(fmt::format("--threads {}: give 1 or more", run.threads));
  if (run.worker_slot >= 0) log::setPrefix("w" + std::to_string(run.worker_slot));
  const auto experiment = config::loadExperiment(run.config_path, run.overrides);
  run.mlflow_uri =
      mlflowUri(run.mlflow_uri, gridWide(experiment, run.config_path, "tracking.mlflow_uri",
                                         &config::TrackingConfig::mlflow_uri));
  if (run.tensorboard_dir.empty()) {
    run.tensorboard_dir = gridWide(experiment, run.config_path, "tracking.tensorboard_dir",
                                   &config::TrackingConfig::tensorboard_dir);
  }
  if (values.count("dry-run")) {
    for (const auto& resolved : experiment.runs) {
      fmt::print("{} {} {}\n", train::runId(experiment.name, resolved.config_hash), resolved.name,
                 resolved.resolved_json);
    }
    return 0;
  }
  if (values.count("workers")) return startWorkers(run, experiment);
  core::installStopHandlers();
  log::info("experiment {}: {} run(s) from {}{}", experiment.name, experiment.runs.size(),
            run.config_path, run.cell >= 0 ? fmt::format(", cell {}", run.cell) : std::string());
  train::GridRunOptions run_options;
  run_options.db_path = run.db_path;
  run_options.results_dir = run.results_dir;
  run_options.device = run.device;
  run_options.threads = run.threads;
  run_options.cell = run.cell;
  run_options.journal = run.shard ? tracking::Journal::Rollback : tracking::Journal::Wal;
  run_options.claim_timeout_s = run.claim_timeout_s;
  run_options.wait_for_held = run.wait_for_held;
  run_options.retry_failed_before = run.retry_failed_before;
  run_options.tensorboard_dir = run.tensorboard_dir;
  run_options.mlflow_uri = run.mlflow_uri;
  const auto outcome = train::runGrid(experiment, run_options);
  log::info(
      "experiment {}: {} finished, {} skipped (already finished), {} failed{}{}; store {}",
      experiment.name, outcome.finished, outcome.skipped, outcome.failed,
      outcome.held > 0 ? fmt::format(", {} held by other processes", outcome.held) : std::string(),
      outcome.lost > 0 ? fmt::format(", {} taken over by others", outcome.lost) : std::string(),
      run.db_path);
  return outcome.failed > 0 ? 1 : 0;
}

}  // namespace ferlab::cli
