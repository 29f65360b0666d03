#pragma once
// Where a result came from: the project's git commit and wall-clock timestamps. Library
// versions of LibTorch and OpenCV live with the modules that link them
// (train/GridRunner.h, data/Fer2013Reader.h).

#include <string>

namespace ferlab::core {

/// `git rev-parse HEAD` of the FERLab source tree, with "-dirty" when tracked files differ
/// from it; "unknown" when git or the repository is unavailable. Never throws.
std::string gitCommit();

/// FERLab's own version (CMake project version).
std::string ferlabVersion();

/// Current UTC time as ISO 8601, e.g. "2026-11-21T09:13:00Z".
std::string utcNowIso8601();

/// Seconds since the Unix epoch (wall clock), as a double with sub-second resolution.
double unixTimeSeconds();

}  // namespace ferlab::core
