#include "framework/core/Provenance.h"

#include <chrono>
#include <cstdio>
#include <ctime>

// Written into the build folder by cmake/BuildStamp.cmake at every build (CMakeLists.txt,
// target ferlab_build_stamp): FERLAB_BUILD_VERSION and FERLAB_BUILD_GIT_COMMIT.
#include "framework/core/BuildStamp.h"

namespace ferlab::core {

std::string gitCommit() {
  return FERLAB_BUILD_GIT_COMMIT;
}

std::string ferlabVersion() {
  return FERLAB_BUILD_VERSION;
}

std::string utcNowIso8601() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t seconds = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + length, sizeof text - length, ".%03dZ", static_cast<int>(millis));
  return text;
}

double unixTimeSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace ferlab::core
