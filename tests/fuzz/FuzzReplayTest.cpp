// Replays the committed fuzz corpus through the libFuzzer harnesses of this folder (README,
// "Fuzzing"): every file under tests/fuzz/corpus/<harness>/ and tests/fuzz/crashes/<harness>/
// must be handled, the harness returning normally. An input that escapes with an exception
// fails the test naming the file; a crash or a sanitizer report ends the executable. This is
// the regression check of what bench/fuzz/run.sh found, in every `ctest` run.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

// The harnesses' LLVMFuzzerTestOneInput, renamed per file (tests/CMakeLists.txt).
extern "C" int ferlabFuzzConfigLoader(const uint8_t* data, size_t size);
extern "C" int ferlabFuzzFer2013Csv(const uint8_t* data, size_t size);
extern "C" int ferlabFuzzImageDecode(const uint8_t* data, size_t size);
extern "C" int ferlabFuzzSqliteStore(const uint8_t* data, size_t size);
extern "C" int ferlabFuzzWeightFile(const uint8_t* data, size_t size);
extern "C" int ferlabFuzzCheckpoint(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;
using Harness = int (*)(const uint8_t*, size_t);

// Regular files under `folder`, sorted; none when it does not exist.
std::vector<fs::path> inputsUnder(const fs::path& folder) {
  std::vector<fs::path> files;
  if (!fs::is_directory(folder)) return files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void replay(const std::string& name, Harness harness) {
  const fs::path root = fs::path(FERLAB_SOURCE_DIR) / "tests" / "fuzz";
  const auto corpus = inputsUnder(root / "corpus" / name);
  ASSERT_FALSE(corpus.empty()) << "no corpus in " << (root / "corpus" / name).string();
  auto inputs = corpus;
  const auto crashes = inputsUnder(root / "crashes" / name);
  inputs.insert(inputs.end(), crashes.begin(), crashes.end());
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    try {
      EXPECT_EQ(harness(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0)
          << path.string();
    } catch (const std::exception& error) {
      ADD_FAILURE() << path.string() << ": escaped the harness: " << error.what();
    } catch (...) {
      ADD_FAILURE() << path.string() << ": escaped the harness (not a std::exception)";
    }
  }
  ::testing::Test::RecordProperty("inputs", static_cast<int>(inputs.size()));
}

}  // namespace

TEST(FuzzReplay, ConfigLoader) {
  replay("ConfigLoader", &ferlabFuzzConfigLoader);
}
TEST(FuzzReplay, Fer2013Csv) {
  replay("Fer2013Csv", &ferlabFuzzFer2013Csv);
}
TEST(FuzzReplay, ImageDecode) {
  replay("ImageDecode", &ferlabFuzzImageDecode);
}
TEST(FuzzReplay, SqliteStore) {
  replay("SqliteStore", &ferlabFuzzSqliteStore);
}
TEST(FuzzReplay, WeightFile) {
  replay("WeightFile", &ferlabFuzzWeightFile);
}
TEST(FuzzReplay, Checkpoint) {
  replay("Checkpoint", &ferlabFuzzCheckpoint);
}
