#include "framework/core/AtomicFile.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::core {

void writeFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  // stdio, not iostreams: fflush and fclose report ENOSPC, which a stream's state hides.
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) {
    throw Error(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
  }
  const bool written =
      std::fwrite(text.data(), 1, text.size(), file) == text.size() && std::fflush(file) == 0;
  const int write_errno = errno;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::remove(temporary.c_str());
    throw Error(
        fmt::format("{}: cannot write: {}", path, std::strerror(written ? errno : write_errno)));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::remove(temporary.c_str());
    throw Error(fmt::format("{}: cannot write: {}", path, error.message()));
  }
}

}  // namespace ferlab::core
