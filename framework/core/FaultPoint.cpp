#include "framework/core/FaultPoint.h"

#include <csignal>
#include <cstdlib>
#include <string>

namespace ferlab::core {

void faultPoint(const char* point, int epoch) {
  const char* wanted = std::getenv("FERLAB_KILL_AT");
  if (wanted == nullptr) return;
  const std::string here = std::string(point) + ":" + std::to_string(epoch);
  const std::string text(wanted);
  if (text == here) std::raise(SIGKILL);
  if (text == here + ":TERM") std::raise(SIGTERM);
  if (text == here + ":INT") std::raise(SIGINT);
}

}  // namespace ferlab::core
