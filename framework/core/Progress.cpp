#include "framework/core/Progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

namespace ferlab::core {
namespace {

bool lineIsDrawn = false;

double monotonicSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ProgressLine::ProgressLine() : interactive_(isatty(fileno(stderr)) != 0) {}

ProgressLine::~ProgressLine() {
  clearActive();
}

void ProgressLine::update(const std::string& text) {
  if (!interactive_) return;
  const double now = monotonicSeconds();
  if (now - lastDrawSeconds_ < 0.1) return;
  lastDrawSeconds_ = now;
  fmt::print(stderr, "\r\033[K{}", text);
  std::fflush(stderr);
  lineIsDrawn = true;
}

void ProgressLine::finish(const std::string& text) {
  clearActive();
  fmt::print(stderr, "{}\n", text);
  std::fflush(stderr);
}

void ProgressLine::clearActive() {
  if (!lineIsDrawn) return;
  fmt::print(stderr, "\r\033[K");
  lineIsDrawn = false;
}

std::string formatDuration(double seconds) {
  const long total = seconds < 0 ? 0 : static_cast<long>(seconds + 0.5);
  const long hours = total / 3600, minutes = (total / 60) % 60, secs = total % 60;
  if (hours > 0) return fmt::format("{}:{:02}:{:02}", hours, minutes, secs);
  return fmt::format("{}:{:02}", minutes, secs);
}

}  // namespace ferlab::core
