#include "framework/core/FileBytes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "framework/core/Errors.h"

namespace ferlab::core {
namespace {

namespace fs = std::filesystem;

class FileBytesTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_); }
  void TearDown() override { fs::remove_all(dir_); }
  const fs::path dir_ =
      fs::temp_directory_path() / ("ferlab_file_bytes_" + std::to_string(::getpid()));
};

// The message thrown by readFileBytes(path), or "" when it returns.
std::string errorReading(const fs::path& path) {
  try {
    readFileBytes(path);
  } catch (const DataError& error) {
    return error.what();
  }
  return "";
}

TEST_F(FileBytesTest, ReturnsEveryByteUntranslated) {
  // NUL, CR LF and bytes above 0x7f: an encoded PNG holds all of them.
  const std::string bytes("\x89PNG\r\n\x1a\n\0\xff end", 14);
  const fs::path path = dir_ / "face.png";
  std::ofstream(path, std::ios::binary) << bytes;
  EXPECT_EQ(readFileBytes(path), bytes);
  const fs::path empty = dir_ / "empty.csv";
  std::ofstream{empty};
  EXPECT_EQ(readFileBytes(empty), "");
}

TEST_F(FileBytesTest, MissingFileOrFolderIsOneErrorNamingThePath) {
  EXPECT_EQ(errorReading(dir_ / "missing.png"),
            (dir_ / "missing.png").string() + ": cannot open file");
  EXPECT_EQ(errorReading(dir_), dir_.string() + ": cannot open file");
}

}  // namespace
}  // namespace ferlab::core
