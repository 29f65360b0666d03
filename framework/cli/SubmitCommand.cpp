// `ferlab submit CONFIG --slurm [...]`: runs a grid on a Slurm cluster as a job array (one task
// per cell, each with its own shard store) plus a merge job that depends on it (SlurmScript.h).
// The scripts are written under <results>/slurm/<experiment>/ and submitted with sbatch;
// `--dry-run` prints them instead and submits nothing.

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/cli/SlurmScript.h"
#include "framework/config/ConfigLoader.h"
#include "framework/core/AtomicFile.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"

namespace ferlab::cli {
namespace {

namespace fs = std::filesystem;

std::string absolute(const std::string& path) {
  return fs::absolute(path).lexically_normal().string();
}

std::string thisExecutable() {
  std::error_code error;
  const auto path = fs::read_symlink("/proc/self/exe", error);
  if (error) throw Error("cannot find the ferlab executable (/proc/self/exe): " + error.message());
  return path.string();
}

/// Runs `command` through the shell; returns its stdout. Throws Error with its output when it
/// exits non-zero (sbatch's own message says what the cluster refused).
std::string runShell(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw Error("cannot run: " + command);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error(fmt::format(
        "`{}` failed{}: {}", command,
        WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (is Slurm's sbatch on PATH?)" : "",
        output));
  }
  return output;
}

/// The job id `sbatch --parsable` prints ("1234" or "1234;cluster").
std::string parsableJobId(const std::string& output) {
  std::string id;
  for (const char c : output) {
    if (c == ';' || c == '\n') break;
    id += c;
  }
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    throw Error("sbatch printed no job id: " + output);
  }
  return id;
}

}  // namespace

int submitCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::string config_path, db_path, results_dir;
  std::vector<std::string> overrides;
  SlurmJob job;
  // clang-format off
  options.add_options()
      ("config", po::value(&config_path)->required(), "experiment TOML file")
      ("slurm", "submit to Slurm (sbatch): a job array, one task per grid cell, then a merge job")
      ("set", po::value(&overrides)->composing(), "override a config key (repeatable), as for `ferlab run`")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "the store the merge job writes")
      ("results", po::value(&results_dir)->default_value("results"), "shared folder for checkpoints, shards and logs")
      ("partition", po::value(&job.partition), "Slurm partition (default: the cluster's)")
      ("gpus-per-task", po::value(&job.gpus_per_task)->default_value(0), "GPUs per array task")
      ("cpus-per-task", po::value(&job.cpus_per_task)->default_value(0), "CPU cores per array task (its LibTorch threads)")
      ("time", po::value(&job.time), "time limit per task, in Slurm's format (e.g. 4:00:00)")
      ("array-parallelism", po::value(&job.array_parallelism)->default_value(0), "at most K tasks at once (the array's % throttle)")
      ("signal-seconds", po::value(&job.signal_seconds)->default_value(120), "seconds before the time limit when a task checkpoints and requeues itself")
      ("dry-run", "print the sbatch scripts and submit nothing");
  // clang-format on
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map values;
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab submit CONFIG --slurm [--partition P] [--gpus-per-task G] "
                        "[--cpus-per-task C] [--time T] [--array-parallelism K] [--dry-run]",
                        values)) {
    return 0;
  }
  if (!values.count("slurm")) {
    throw UsageError("submit needs a scheduler: --slurm (the only one FERLab submits to)");
  }
  for (const auto& [name, value] :
       {std::pair<const char*, int>{"--gpus-per-task", job.gpus_per_task},
        {"--cpus-per-task", job.cpus_per_task},
        {"--array-parallelism", job.array_parallelism},
        {"--signal-seconds", job.signal_seconds}}) {
    if (value < 0) throw UsageError(fmt::format("{} {}: give 0 or more", name, value));
  }
  const auto experiment = config::loadExperiment(config_path, overrides);
  job.experiment = experiment.name;
  job.cells = static_cast<int>(experiment.runs.size());
  job.ferlab = thisExecutable();
  job.workdir = fs::current_path().string();
  job.config = absolute(config_path);
  job.overrides = overrides;
  job.results_dir = absolute(results_dir);
  job.job_dir = absolute((fs::path(results_dir) / "slurm" / experiment.name).string());
  job.db = absolute(db_path);
  const std::string array = slurmArrayScript(job), merge = slurmMergeScript(job);
  const fs::path array_path = fs::path(job.job_dir) / "array.sbatch";
  const fs::path merge_path = fs::path(job.job_dir) / "merge.sbatch";
  if (values.count("dry-run")) {
    std::cout << "# " << array_path.string() << "\n"
              << array << "\n# " << merge_path.string() << "\n"
              << merge << "\n# submitted as:\n#   sbatch --parsable " << array_path.string()
              << "\n#   sbatch --parsable --dependency=afterany:<array job id> "
              << merge_path.string() << "\n";
    return 0;
  }
  fs::create_directories(fs::path(job.job_dir) / "logs");
  fs::create_directories(fs::path(job.job_dir) / "shards");
  core::writeFileAtomically(array_path.string(), array);
  core::writeFileAtomically(merge_path.string(), merge);
  const std::string array_id =
      parsableJobId(runShell("sbatch --parsable " + shellQuote(array_path.string())));
  const std::string merge_id =
      parsableJobId(runShell("sbatch --parsable --dependency=afterany:" + array_id + " " +
                             shellQuote(merge_path.string())));
  fmt::print(
      "submitted {}: array job {} ({} task(s), logs {}/logs/{}_<cell>.out), merge job {} "
      "into {}\n",
      experiment.name, array_id, job.cells, job.job_dir, array_id, merge_id, job.db);
  return 0;
}

}  // namespace ferlab::cli
