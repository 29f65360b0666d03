#include "framework/core/FileBytes.h"

#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::core {

std::string readFileBytes(const std::filesystem::path& path) {
  // An ifstream opens a directory on Linux and fails only at the first read: say so up front.
  std::error_code error;
  std::ifstream file;
  if (!std::filesystem::is_directory(path, error)) {
    file.open(path, std::ios::binary | std::ios::ate);
  }
  if (!file.is_open()) throw DataError(fmt::format("{}: cannot open file", path.string()));
  const std::streamoff size = file.tellg();
  std::string bytes(static_cast<std::size_t>(size < 0 ? 0 : size), '\0');
  file.seekg(0);
  if (size < 0 || !file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    throw DataError(fmt::format("{}: cannot read file", path.string()));
  }
  return bytes;
}

}  // namespace ferlab::core
