#include "framework/core/Provenance.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include <fmt/format.h>

namespace ferlab::core {
namespace {

std::string runCommand(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return {};
  std::string output;
  std::array<char, 256> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) output += buffer.data();
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  return output;
}

}  // namespace

std::string gitCommit() {
  static const std::string commit = [] {
    const std::string git = fmt::format("git -C '{}' ", FERLAB_SOURCE_DIR);
    std::string head = runCommand(git + "rev-parse HEAD 2>/dev/null");
    if (head.empty()) return std::string("unknown");
    const std::string changes =
        runCommand(git + "status --porcelain --untracked-files=no 2>/dev/null");
    return changes.empty() ? head : head + "-dirty";
  }();
  return commit;
}

std::string ferlabVersion() {
  return FERLAB_VERSION;
}

std::string utcNowIso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

double unixTimeSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace ferlab::core
