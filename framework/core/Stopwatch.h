#pragma once
// Wall-clock timing on the monotonic clock, for durations and throughput (images/s).

#include <chrono>

namespace ferlab::core {

class Stopwatch {
 public:
  /// Seconds since construction.
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace ferlab::core
