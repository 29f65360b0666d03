#pragma once
// Fixtures shared by the data tests: temp folders, and small datasets built from real
// FER2013 images copied out of the shared dataset (never modified in place).

#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "framework/core/Errors.h"

namespace ferlab::data::testing {

namespace fs = std::filesystem;

inline const fs::path kFer2013 = fs::path(FERLAB_TEST_DATA) / "fer2013";

// The image-folder class names in the CSV label order (fer2013ClassNames()).
inline const std::array<const char*, 7> kClasses = {"angry", "disgust",  "fear",   "happy",
                                                    "sad",   "surprise", "neutral"};

// A fresh folder under the system temp folder, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ =
        fs::temp_directory_path() / fmt::format("ferlab-data-test-{}-{}", ::getpid(), counter++);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The first `count` real images (sorted by name, after skipping `skip`) of
// fer2013/<folder>/<className>/ whose names start with `prefix`.
inline std::vector<fs::path> realImages(const std::string& folder, const std::string& className,
                                        const std::string& prefix, std::size_t count,
                                        std::size_t skip = 0) {
  std::vector<fs::path> images;
  for (const auto& entry : fs::directory_iterator(kFer2013 / folder / className)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) images.push_back(entry.path());
  }
  std::sort(images.begin(), images.end());
  images.erase(images.begin(), images.begin() + static_cast<long>(std::min(skip, images.size())));
  images.resize(std::min(count, images.size()));
  return images;
}

// Copies `images` into `folder`, renamed to <renamePrefix>NN.jpg when a prefix is given.
inline void copyInto(const std::vector<fs::path>& images, const fs::path& folder,
                     const std::string& renamePrefix = "") {
  fs::create_directories(folder);
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string name = renamePrefix.empty() ? images[i].filename().string()
                                                  : fmt::format("{}{:02}.jpg", renamePrefix, i);
    fs::copy_file(images[i], folder / name);
  }
}

// The official layout in miniature: per class 3 Training_, 2 PublicTest_, 2 PrivateTest_.
inline void buildOfficialLayout(const fs::path& root) {
  for (const char* name : kClasses) {
    copyInto(realImages("train", name, "Training_", 3), root / "train" / name);
    copyInto(realImages("test", name, "PublicTest_", 2), root / "test" / name);
    copyInto(realImages("test", name, "PrivateTest_", 2), root / "test" / name);
  }
}

// The message of the DataError `action` throws; a test failure when it throws none.
inline std::string dataErrorOf(const std::function<void()>& action) {
  try {
    action();
  } catch (const DataError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a DataError";
  return "";
}

}  // namespace ferlab::data::testing
