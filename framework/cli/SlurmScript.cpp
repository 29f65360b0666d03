#include "framework/cli/SlurmScript.h"

#include <fmt/format.h>

namespace ferlab::cli {
namespace {

/// The #SBATCH lines both jobs share: partition and time when given.
std::string commonDirectives(const SlurmJob& job) {
  std::string lines;
  if (!job.partition.empty()) lines += "#SBATCH --partition=" + job.partition + "\n";
  if (!job.time.empty()) lines += "#SBATCH --time=" + job.time + "\n";
  return lines;
}

std::string overrideArguments(const SlurmJob& job) {
  std::string arguments;
  for (const auto& override : job.overrides) arguments += " --set " + shellQuote(override);
  return arguments;
}

}  // namespace

std::string shellQuote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string slurmArrayScript(const SlurmJob& job) {
  std::string script = "#!/bin/bash\n";
  script += fmt::format(
      "# FERLab job array for experiment {}: one task per grid cell "
      "(written by `ferlab submit --slurm`).\n",
      job.experiment);
  script += fmt::format("#SBATCH --job-name=ferlab-{}\n", job.experiment);
  script += fmt::format("#SBATCH --array=0-{}{}\n", job.cells - 1,
                        job.array_parallelism > 0 ? fmt::format("%{}", job.array_parallelism) : "");
  script += fmt::format("#SBATCH --output={}/logs/%A_%a.out\n", job.job_dir);
  script += "#SBATCH --open-mode=append\n";
  script += "#SBATCH --requeue\n";
  script += fmt::format("#SBATCH --signal=B:USR2@{}\n", job.signal_seconds);
  if (job.cpus_per_task > 0)
    script += fmt::format("#SBATCH --cpus-per-task={}\n", job.cpus_per_task);
  if (job.gpus_per_task > 0)
    script += fmt::format("#SBATCH --gpus-per-task={}\n", job.gpus_per_task);
  script += commonDirectives(job);
  script += "set -uo pipefail\n";
  script += "cd " + shellQuote(job.workdir) + "\n";
  script += "task=\"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n";
  script += "echo \"ferlab: task $task (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname)\"\n";
  script +=
      "# Near the time limit Slurm sends USR2 to this shell: stop ferlab gracefully (SIGTERM "
      "keeps\n"
      "# the last epoch's checkpoint and releases the run's claim), then requeue this task; its\n"
      "# next start resumes from that checkpoint.\n";
  script += "requeue() {\n";
  script += "  echo \"ferlab: USR2 (time limit near): checkpointing and requeueing $task\"\n";
  script += "  kill -TERM \"$child\" 2>/dev/null\n";
  script += "  wait \"$child\"\n";
  script += "  scontrol requeue \"$task\"\n";
  script += "  exit 0\n";
  script += "}\n";
  script += "trap requeue USR2\n";
  script += fmt::format(
      "{} run {}{} --cell \"$SLURM_ARRAY_TASK_ID\" --shard --db "
      "{}/shards/cell-\"$SLURM_ARRAY_TASK_ID\".db "
      "--results {} --threads \"${{SLURM_CPUS_PER_TASK:-0}}\" &\n",
      shellQuote(job.ferlab), shellQuote(job.config), overrideArguments(job),
      shellQuote(job.job_dir), shellQuote(job.results_dir));
  script += "child=$!\n";
  script += "# A trapped signal interrupts this wait; the trap then waits for ferlab itself.\n";
  script += "wait \"$child\"\n";
  return script;
}

std::string slurmMergeScript(const SlurmJob& job) {
  std::string script = "#!/bin/bash\n";
  script += fmt::format(
      "# FERLab merge job for experiment {}: run after the array job ends "
      "(--dependency=afterany:<array job id>).\n",
      job.experiment);
  script += fmt::format("#SBATCH --job-name=ferlab-{}-merge\n", job.experiment);
  script += fmt::format("#SBATCH --output={}/logs/merge-%j.out\n", job.job_dir);
  script += "#SBATCH --cpus-per-task=1\n";
  script += commonDirectives(job);
  script += "set -uo pipefail\n";
  script += "cd " + shellQuote(job.workdir) + "\n";
  script += fmt::format("{} merge {}/shards --into {} --config {}{}\n", shellQuote(job.ferlab),
                        shellQuote(job.job_dir), shellQuote(job.db), shellQuote(job.config),
                        overrideArguments(job));
  return script;
}

}  // namespace ferlab::cli
