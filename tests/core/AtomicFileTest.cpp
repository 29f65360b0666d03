#include "framework/core/AtomicFile.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "framework/core/Errors.h"

namespace ferlab::core {
namespace {

namespace fs = std::filesystem;

std::string readAll(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AtomicFile, WritesAndReplacesWholeFilesWithoutLeavingTemporaries) {
  const fs::path dir = fs::temp_directory_path() / ("ferlab_atomic_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / "config.json";
  writeFileAtomically(path.string(), "{\"a\": 1}\n");
  EXPECT_EQ(readAll(path), "{\"a\": 1}\n");
  writeFileAtomically(path.string(), "{}\n");
  EXPECT_EQ(readAll(path), "{}\n");
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  fs::remove_all(dir);
}

TEST(AtomicFile, FailureNamesThePathAndLeavesNothing) {
  const fs::path path = fs::temp_directory_path() / "ferlab_no_such_dir" / "normalization.json";
  try {
    writeFileAtomically(path.string(), "{}");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()).rfind(path.string() + ": cannot write: ", 0), 0u)
        << error.what();
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
}

}  // namespace
}  // namespace ferlab::core
