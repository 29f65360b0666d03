#include "framework/core/StopSignal.h"

#include <atomic>
#include <csignal>
#include <string>

#include "framework/core/Errors.h"

namespace ferlab::core {
namespace {

std::atomic<int> requested{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler stores into this atomic");

extern "C" void onStopSignal(int signal) {
  requested.store(signal, std::memory_order_relaxed);
  // The next SIGINT or SIGTERM takes the default action: the process ends at once.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

void installStopHandlers() {
  struct sigaction action {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR and the poll sees the flag
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stopSignal() {
  return requested.load(std::memory_order_relaxed);
}

void throwIfStopRequested(const char* what) {
  const int signal = stopSignal();
  if (signal == 0) return;
  throw Interrupted(std::string(signal == SIGINT ? "SIGINT" : "SIGTERM") + " received " + what,
                    signal);
}

}  // namespace ferlab::core
