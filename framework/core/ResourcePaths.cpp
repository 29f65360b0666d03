#include "framework/core/ResourcePaths.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::core {
namespace {

namespace fs = std::filesystem;

// ", or set FERLAB_X to another path" when the resource has an override, else "".
std::string overrideHint(const Resource& resource) {
  return resource.env == nullptr ? "" : fmt::format(", or set {} to its path", resource.env);
}

}  // namespace

std::optional<std::string> executablePath() {
  std::error_code error;
  const fs::path path = fs::read_symlink("/proc/self/exe", error);
  if (error || path.empty()) return std::nullopt;
  return path.string();
}

std::string resourceRoot(const std::string& executable) {
  return fs::path(executable).parent_path().parent_path().string();
}

std::optional<std::string> resourceRoot() {
  const std::optional<std::string> executable = executablePath();
  if (!executable) return std::nullopt;
  return resourceRoot(*executable);
}

std::string findResource(const Resource& resource, const std::string& executable) {
  if (resource.env != nullptr) {
    const char* configured = std::getenv(resource.env);
    if (configured != nullptr && *configured != '\0') return configured;
  }
  const fs::path path = fs::path(resourceRoot(executable)) / resource.relative;
  std::error_code error;
  if (fs::exists(path, error)) return path.string();
  throw DataError(fmt::format(
      "{} not found: looked for {} (<root>/{}, where <root> is the folder above the one "
      "holding the executable {}); {}{}",
      resource.what, path.string(), resource.relative, executable, resource.how_to_make,
      overrideHint(resource)));
}

std::string findResource(const Resource& resource) {
  const std::optional<std::string> executable = executablePath();
  if (!executable) {
    throw DataError(
        fmt::format("{} not found: /proc/self/exe is unreadable, so {} cannot be "
                    "looked for beside the executable{}",
                    resource.what, resource.relative, overrideHint(resource)));
  }
  return findResource(resource, *executable);
}

}  // namespace ferlab::core
