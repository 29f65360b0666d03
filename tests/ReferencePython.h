#pragma once
// The interpreter the reference tests run (torch, torchvision, timm, SciPy from
// scripts/python.lock): $FERLAB_PYTHON when set and not empty, else <source>/.venv/bin/python.
// A missing one is a test failure, not a skip: the references are part of the suite.

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace ferlab::e2e {

inline std::string referencePython() {
  const char* configured = std::getenv("FERLAB_PYTHON");
  const bool from_env = configured != nullptr && *configured != '\0';
  const std::string python =
      from_env ? configured : std::string(FERLAB_SOURCE_DIR) + "/.venv/bin/python";
  if (::access(python.c_str(), X_OK) != 0) {
    throw std::runtime_error(
        (from_env ? "FERLAB_PYTHON=" : "") + python +
        " does not exist or is not executable: run scripts/setup.sh (it installs "
        "scripts/python.lock into .venv/), or set FERLAB_PYTHON to an interpreter with those "
        "packages");
  }
  return python;
}

}  // namespace ferlab::e2e
