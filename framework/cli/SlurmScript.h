#pragma once
// The sbatch scripts of `ferlab submit --slurm`: a job array with one task per grid cell, and a
// merge job that runs after it (afterany). Slurm does the scheduling; FERLab only describes
// the work (https://slurm.schedmd.com/sbatch.html, job_array.html).
//
// Each array task trains its own cell (`ferlab run --cell $SLURM_ARRAY_TASK_ID`) into a shard
// store of its own (`--shard`: one writer, rollback journal), so no SQLite file is ever shared
// over the cluster's network filesystem; checkpoints go to the shared results folder.
// `--signal=B:USR2@S` asks Slurm to signal the batch shell S seconds before the time limit;
// the script's trap stops ferlab with SIGTERM (it keeps its last epoch's checkpoint and
// releases its claim) and requeues the task (`scontrol requeue`, allowed by `--requeue`), whose
// next start resumes from that checkpoint.

#include <string>
#include <vector>

namespace ferlab::cli {

struct SlurmJob {
  std::string experiment;              ///< the grid's name (job names, folder)
  int cells = 0;                       ///< grid cells: array indices 0 .. cells - 1
  std::string ferlab;                  ///< absolute path of the ferlab executable
  std::string workdir;                 ///< absolute: the folder tasks run in (relative paths)
  std::string config;                  ///< absolute path of the experiment TOML
  std::vector<std::string> overrides;  ///< --set key=value, passed on to every task
  std::string job_dir;                 ///< absolute: scripts, logs/ (%A_%a) and shards/ of this job
  std::string results_dir;             ///< absolute: checkpoints (shared filesystem)
  std::string db;                      ///< absolute: the store the merge job writes
  std::string partition;               ///< empty: the cluster's default
  std::string time;           ///< per task, Slurm's format ("2:00:00", "90"); empty: default
  int gpus_per_task = 0;      ///< 0: none asked
  int cpus_per_task = 0;      ///< 0: the cluster's default
  int array_parallelism = 0;  ///< the % throttle: at most this many tasks at once; 0: none
  int signal_seconds = 120;   ///< USR2 this long before the time limit
};

/// The job array's batch script.
std::string slurmArrayScript(const SlurmJob& job);
/// The merge job's batch script (`ferlab merge` of the shards into job.db, reporting the
/// grid's missing and failed cells); submitted with --dependency=afterany:<array job id>.
std::string slurmMergeScript(const SlurmJob& job);
/// `text` as one single-quoted shell word.
std::string shellQuote(const std::string& text);

}  // namespace ferlab::cli
