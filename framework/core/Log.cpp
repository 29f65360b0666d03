#include "framework/core/Log.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "framework/core/Progress.h"

namespace ferlab::log {
namespace {

Level levelFromEnvironment() {
  const char* value = std::getenv("FERLAB_LOG");
  if (value == nullptr) return Level::Info;
  const std::string name(value);
  if (name == "debug") return Level::Debug;
  if (name == "warn") return Level::Warn;
  if (name == "error") return Level::Error;
  if (name == "off") return Level::Off;
  return Level::Info;
}

Level& mutableThreshold() {
  static Level level = levelFromEnvironment();
  return level;
}

const char* levelName(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
    default:
      return "";
  }
}

}  // namespace

Level threshold() {
  return mutableThreshold();
}
void setThreshold(Level level) {
  mutableThreshold() = level;
}

static std::string& mutablePrefix() {
  static std::string prefix;
  return prefix;
}

void setPrefix(std::string prefix) {
  mutablePrefix() = prefix.empty() ? std::string() : "[" + prefix + "] ";
}

void write(Level level, std::string_view message) {
  core::ProgressLine::clearActive();
  fmt::print(stderr, "[{}] {}{}\n", levelName(level), mutablePrefix(), message);
  std::fflush(stderr);
}

}  // namespace ferlab::log
