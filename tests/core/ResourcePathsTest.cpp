#include "framework/core/ResourcePaths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "framework/core/Errors.h"
#include "framework/core/Provenance.h"

namespace ferlab::core {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEnv = "FERLAB_TEST_RESOURCE";
const Resource kAssets{"the test assets", "reports/assets", kEnv, "run make-assets"};

// A root with bin/ (the executable's folder) and, optionally, reports/assets/; kEnv unset.
class ResourcePathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ferlab-resources-test-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "bin");
    executable_ = (root_ / "bin" / "ferlab").string();
    std::ofstream(executable_) << "not run";
    ::unsetenv(kEnv);
  }
  void TearDown() override {
    ::unsetenv(kEnv);
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  // The DataError message findResource throws; a test failure when it throws none.
  std::string errorOf(const Resource& resource) {
    try {
      findResource(resource, executable_);
    } catch (const DataError& error) {
      return error.what();
    }
    ADD_FAILURE() << "findResource did not throw";
    return "";
  }

  fs::path root_;
  std::string executable_;
};

TEST_F(ResourcePathsTest, RootIsTheFolderAboveTheExecutables) {
  EXPECT_EQ(resourceRoot("/opt/ferlab/bin/ferlab"), "/opt/ferlab");
  EXPECT_EQ(resourceRoot("/work/checkout/build/ferlab"), "/work/checkout");
  EXPECT_EQ(resourceRoot(executable_), root_.string());
}

TEST_F(ResourcePathsTest, FindsTheResourceUnderTheRoot) {
  fs::create_directories(root_ / "reports" / "assets");
  EXPECT_EQ(findResource(kAssets, executable_), (root_ / "reports" / "assets").string());
}

TEST_F(ResourcePathsTest, MissingResourceNamesWhatWhereAndHowToFixIt) {
  fs::create_directories(root_ / "reports");  // the folder above the resource is not enough
  const std::string message = errorOf(kAssets);
  const std::string expected_path = (root_ / "reports" / "assets").string();
  EXPECT_EQ(message.rfind("the test assets not found: looked for " + expected_path + " ", 0), 0u)
      << message;
  EXPECT_NE(message.find(executable_), std::string::npos) << message;
  EXPECT_NE(message.find("run make-assets"), std::string::npos) << message;
  EXPECT_NE(message.find("or set FERLAB_TEST_RESOURCE to its path"), std::string::npos) << message;
  // Without an override variable the message offers none.
  const std::string no_env = errorOf({"the script", "scripts/x.py", nullptr, "lay it out"});
  EXPECT_NE(no_env.find((root_ / "scripts" / "x.py").string()), std::string::npos) << no_env;
  EXPECT_EQ(no_env.find(" set "), std::string::npos) << no_env;
}

TEST_F(ResourcePathsTest, EnvironmentOverridesTheLookupVerbatim) {
  ::setenv(kEnv, "/elsewhere/assets", 1);
  EXPECT_EQ(findResource(kAssets, executable_), "/elsewhere/assets");  // not checked here
  ::setenv(kEnv, "", 1);                                               // empty = unset
  EXPECT_NE(errorOf(kAssets).find("not found"), std::string::npos);
}

TEST(ExecutablePath, IsThisTestBinary) {
  const auto path = executablePath();
  ASSERT_TRUE(path.has_value());
  EXPECT_TRUE(fs::equivalent(*path, "/proc/self/exe"));
  EXPECT_EQ(fs::path(*path).filename(), "test_core");
  EXPECT_EQ(resourceRoot(), resourceRoot(*path));
}

// Stamped at build time by cmake/BuildStamp.cmake: a 40-hex-digit commit, "-dirty" at most
// appended, or "unknown" outside a git checkout.
TEST(Provenance, CommitIsStampedAtBuildTime) {
  const std::string commit = gitCommit();
  if (commit == "unknown") GTEST_SKIP() << "built outside a git checkout";
  const std::string sha = commit.substr(0, commit.find('-'));
  EXPECT_EQ(sha.size(), 40u) << commit;
  EXPECT_EQ(sha.find_first_not_of("0123456789abcdef"), std::string::npos) << commit;
  EXPECT_TRUE(commit == sha || commit == sha + "-dirty") << commit;
  EXPECT_FALSE(ferlabVersion().empty());
}

}  // namespace
}  // namespace ferlab::core
