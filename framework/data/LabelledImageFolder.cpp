#include "framework/data/LabelledImageFolder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::data {
namespace {

namespace fs = std::filesystem;

bool isHidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name.front() == '.';
}

bool isImageFile(const fs::path& path) {
  std::string extension = path.extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png" || extension == ".bmp";
}

struct Entries {
  std::vector<fs::path> folders, images;  // sorted, hidden ones left out
};

Entries listEntries(const fs::path& folder) {
  Entries entries;
  std::error_code error;
  fs::directory_iterator it(folder, error), end;
  for (; !error && it != end; it.increment(error)) {
    const fs::path& path = it->path();
    if (isHidden(path)) continue;
    std::error_code type_error;
    if (it->is_directory(type_error)) {
      entries.folders.push_back(path);
    } else if (it->is_regular_file(type_error) && isImageFile(path)) {
      entries.images.push_back(path);
    }
  }
  if (error)
    throw DataError(fmt::format("{}: cannot list folder: {}", folder.string(), error.message()));
  std::sort(entries.folders.begin(), entries.folders.end());
  std::sort(entries.images.begin(), entries.images.end());
  return entries;
}

}  // namespace

LabelledImageFolder listLabelledImageFolder(const std::string& root) {
  const fs::path root_path(root);
  std::error_code error;
  if (!fs::exists(root_path, error)) throw DataError(fmt::format("{}: does not exist", root));
  if (!fs::is_directory(root_path, error))
    throw DataError(fmt::format("{}: is not a folder", root));
  const Entries top = listEntries(root_path);
  if (!top.images.empty()) {
    throw DataError(fmt::format("{}: image outside a class folder (expected <class>/{})",
                                top.images.front().string(),
                                top.images.front().filename().string()));
  }
  LabelledImageFolder folder;
  folder.root = root;
  for (const fs::path& class_folder : top.folders) {
    const Entries inside = listEntries(class_folder);
    if (!inside.folders.empty()) {
      throw DataError(fmt::format("{}: unexpected folder inside class folder '{}'",
                                  inside.folders.front().string(),
                                  class_folder.filename().string()));
    }
    if (inside.images.empty()) continue;
    const std::string name = class_folder.filename().string();
    folder.class_names.push_back(name);
    for (const fs::path& image : inside.images) {
      folder.files.push_back({image.lexically_relative(root_path).generic_string(), name});
    }
  }
  if (folder.files.empty()) {
    throw DataError(
        fmt::format("{}: no images found (expected <class>/*.jpg, *.jpeg, *.png or *.bmp)", root));
  }
  std::sort(folder.class_names.begin(), folder.class_names.end());
  std::sort(folder.files.begin(), folder.files.end(),
            [](const LabelledImageFile& a, const LabelledImageFile& b) {
              return a.relative_path < b.relative_path;
            });
  return folder;
}

}  // namespace ferlab::data
