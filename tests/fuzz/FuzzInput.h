#pragma once
// Helpers shared by the libFuzzer harnesses (tests/fuzz/*Fuzzer.cpp): one temporary folder per
// process, reused by every input, and splitting one input into parts. Header-only, so the
// same harness sources build as fuzzers (clang, -DFERLAB_FUZZ=ON) and into the replay test.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ferlab::fuzz {

/// This process's temporary folder, $TMPDIR/ferlab-fuzz-<pid>, made on first use and removed
/// when the process exits normally.
inline const std::string& tempDir() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / ("ferlab-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(path);
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(fs::temp_directory_path() / ("ferlab-fuzz-" + std::to_string(::getpid())),
                     ignored);
    });
    return path.string();
  }();
  return dir;
}

/// Writes `size` bytes to `name` inside tempDir() (replacing it) and returns its path.
inline std::string writeTemp(const std::string& name, const void* data, std::size_t size) {
  const std::string path = tempDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

inline std::string writeTemp(const std::string& name, const std::string& bytes) {
  return writeTemp(name, bytes.data(), bytes.size());
}

/// Splits `text` at every occurrence of `separator` (a harness's part marker).
inline std::vector<std::string> splitParts(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t at = text.find(separator, begin);
    if (at == std::string::npos) break;
    parts.push_back(text.substr(begin, at - begin));
    begin = at + separator.size();
  }
  parts.push_back(text.substr(begin));
  return parts;
}

}  // namespace ferlab::fuzz
