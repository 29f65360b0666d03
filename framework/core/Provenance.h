#pragma once
// Where a result came from: the git commit and version the binary was built from, and
// wall-clock timestamps. Library versions of LibTorch and OpenCV live with the modules that
// link them (train/GridRunner.h, data/Fer2013Reader.h).

#include <string>

namespace ferlab::core {

/// The commit the binary was built from, stamped at build time (cmake/BuildStamp.cmake runs
/// `git rev-parse HEAD` on the source tree at every build): "<sha>", with "-dirty" when
/// tracked files differed from it (`git diff --quiet HEAD`); "unknown" when git or the
/// repository was unavailable at build time. Runs nothing at run time, so a copied or
/// installed binary reports the same. Never throws.
std::string gitCommit();

/// FERLab's own version (the CMake project version, stamped at build time).
std::string ferlabVersion();

/// Current UTC time as ISO 8601 with milliseconds, e.g. "2026-11-21T09:13:00.042Z". The
/// milliseconds matter: "failed before this invocation" (GridRunOptions::retry_failed_before)
/// compares these strings, and a rerun often starts within the second its run failed.
std::string utcNowIso8601();

/// Seconds since the Unix epoch (wall clock), as a double with sub-second resolution.
double unixTimeSeconds();

}  // namespace ferlab::core
