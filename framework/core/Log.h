#pragma once
// Level-gated logging to stderr. The level is checked before anything is formatted, so a
// disabled debug line costs one comparison (DESIGN.md, "Logging gated by level").

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace ferlab::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

/// Global threshold; messages below it are dropped. Default Info; FERLAB_LOG=debug|info|
/// warn|error|off in the environment sets the initial value.
Level threshold();
void setThreshold(Level level);

/// Writes "[level] message\n" (or "[level] [prefix] message\n") to stderr, moving a live
/// progress line out of the way.
void write(Level level, std::string_view message);

/// A tag for every later line, such as "w3" for worker 3 of `ferlab run --workers`, so the
/// interleaved output of several processes stays readable. Empty: none.
void setPrefix(std::string prefix);

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (threshold() <= Level::Debug)
    write(Level::Debug, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (threshold() <= Level::Info)
    write(Level::Info, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (threshold() <= Level::Warn)
    write(Level::Warn, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
  if (threshold() <= Level::Error)
    write(Level::Error, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace ferlab::log
