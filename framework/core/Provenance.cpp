#include "framework/core/Provenance.h"

#include <chrono>
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
