#include "framework/cli/RunWorkers.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/core/StopSignal.h"

namespace ferlab::cli {
namespace {

/// Forks and execs `/proc/self/exe` with `args`; the child runs in its own process group and
/// sees only `gpu` when it is >= 0.
pid_t startWorker(const std::vector<std::string>& args, int gpu) {
  std::vector<char*> argv;
  static std::string self = "ferlab";
  argv.push_back(self.data());
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const std::string visible = std::to_string(gpu);
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("--workers: fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    if (gpu >= 0) ::setenv("CUDA_VISIBLE_DEVICES", visible.c_str(), 1);
    ::execv("/proc/self/exe", argv.data());
    std::fprintf(stderr, "ferlab run: --workers: cannot start a worker: %s\n",
                 std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

}  // namespace

WorkerPlan planWorkers(int workers, int workers_per_gpu, bool cuda, int gpu_count, int cpu_count) {
  if (workers < 1) throw UsageError(fmt::format("--workers {}: give 1 or more", workers));
  if (workers_per_gpu < 1) {
    throw UsageError(fmt::format("--workers-per-gpu {}: give 1 or more", workers_per_gpu));
  }
  WorkerPlan plan;
  plan.workers = workers;
  if (cuda) {
    if (workers > gpu_count * workers_per_gpu) {
      throw UsageError(fmt::format(
          "--workers {}: this machine has {} GPU(s) and --workers-per-gpu is {}, so at most {} "
          "workers; raise --workers-per-gpu to pack more runs onto a GPU",
          workers, gpu_count, workers_per_gpu, gpu_count * workers_per_gpu));
    }
    for (int i = 0; i < workers; ++i) plan.gpu_of_worker.push_back(i / workers_per_gpu);
    plan.threads_per_worker = std::max(1, cpu_count / workers);  // data prep, host side
  } else {
    plan.gpu_of_worker.assign(static_cast<std::size_t>(workers), -1);
    plan.threads_per_worker = std::max(1, cpu_count / workers);
  }
  return plan;
}

int runWorkers(const std::vector<std::string>& run_args, const WorkerPlan& plan) {
  core::installStopHandlers();
  std::vector<pid_t> pids;
  for (int i = 0; i < plan.workers; ++i) {
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), run_args.begin(), run_args.end());
    args.insert(args.end(), {"--worker-slot", std::to_string(i), "--threads",
                             std::to_string(plan.threads_per_worker)});
    const int gpu = plan.gpu_of_worker[static_cast<std::size_t>(i)];
    if (gpu >= 0) args.insert(args.end(), {"--device", "cuda"});
    pids.push_back(startWorker(args, gpu));
    log::info("worker {} started (pid {}{}, {} thread(s))", i, pids.back(),
              gpu >= 0 ? fmt::format(", GPU {}", gpu) : std::string(), plan.threads_per_worker);
  }
  int forwarded = 0, failures = 0;
  std::size_t running = pids.size();
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno != EINTR) break;
      const int signal = core::stopSignal();
      if (signal != 0 && forwarded == 0) {
        forwarded = signal;
        log::info("forwarding {} to the workers", signal == SIGINT ? "SIGINT" : "SIGTERM");
        for (const pid_t worker : pids) ::kill(worker, signal);
      }
      continue;
    }
    --running;
    const auto slot = std::find(pids.begin(), pids.end(), pid) - pids.begin();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      log::info("worker {} (pid {}) finished", slot, pid);
    } else {
      ++failures;
      log::warn("worker {} (pid {}) {}", slot, pid,
                WIFSIGNALED(status) ? fmt::format("was killed by signal {}", WTERMSIG(status))
                                    : fmt::format("exited with {}", WEXITSTATUS(status)));
    }
  }
  if (forwarded != 0) return 128 + forwarded;
  return failures > 0 ? 1 : 0;
}

}  // namespace ferlab::cli
