#pragma once
// `ferlab run --workers N`: N worker processes train one grid together on one machine. Each is
// this executable again (`ferlab run` with the same config, store and results), taking runs
// through the store's claims (tracking/SqliteStore.h), so no run is trained twice and a run
// whose worker dies is taken over by another. Processes rather than threads: LibTorch's
// intra-op pool, the CUDA context and the dataset memo are per process, and a crash takes down
// one worker, not the grid.

#include <string>
#include <vector>

namespace ferlab::cli {

struct WorkerPlan {
  int workers = 1;
  /// CPU threads each worker's LibTorch uses (its share of the cores); 0: leave as configured.
  int threads_per_worker = 0;
  /// Per worker, the GPU it sees alone (CUDA_VISIBLE_DEVICES), or -1 for none (CPU runs).
  std::vector<int> gpu_of_worker;
};

/// The plan for `workers` workers: on CUDA, one GPU each, or `workers_per_gpu` sharing one,
/// round-robin over `gpu_count` GPUs; on the CPU, `cpu_count` cores shared evenly (at least
/// one thread each). Throws UsageError for workers < 1 or workers_per_gpu < 1, or more CUDA
/// workers than gpu_count * workers_per_gpu.
WorkerPlan planWorkers(int workers, int workers_per_gpu, bool cuda, int gpu_count, int cpu_count);

/// Starts the plan's workers, each `/proc/self/exe run <run_args> --worker-slot i --threads T`
/// in a process group of its own (so a terminal's Ctrl-C reaches them once, through this
/// process), forwards SIGINT and SIGTERM to them, and waits for all. Returns 0 when every
/// worker exited 0; 128 + signal when interrupted; otherwise 1. Throws Error when a worker
/// cannot be started.
int runWorkers(const std::vector<std::string>& run_args, const WorkerPlan& plan);

}  // namespace ferlab::cli
