// The `[tracking]` table through the binary: tensorboard_dir mirrors a real (tiny) run without
// --tensorboard, and a grid whose cells name different mirrors is one config error that names
// the key, before any store exists. What the mirrors hold is tested against TensorBoard's and
// MLflow's own readers (tests/mirror/).

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;

class TrackingConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ferlab-tracking-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string writeConfig(const std::string& tail) const {
    const std::string path = (dir_ / "exp.toml").string();
    std::ofstream(path) << "name = \"tracked\"\n[data]\npath = \"" << FERLAB_TEST_DATA
                        << "/fer2013\"\ncache_dir = \""
                        << (fs::path(FERLAB_BINARY).parent_path() / "test-cache").string()
                        << "\"\nsubset = 100\neval_subset = 0.02\n[train]\nepochs = 1\n"
                        << tail;
    return path;
  }
  std::string storeArguments() const {
    return " --db " + (dir_ / "ferlab.db").string() + " --results " + (dir_ / "results").string();
  }

  fs::path dir_;
};

TEST_F(TrackingConfigTest, TensorboardDirOfTheConfigWritesTheEventFile) {
  const fs::path events = dir_ / "tb";
  const auto config = writeConfig("[tracking]\ntensorboard_dir = \"" + events.string() + "\"\n");
  const auto result = e2e::runFerlab("run " + config + storeArguments());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  int event_files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(events)) {
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) ++event_files;
  }
  EXPECT_EQ(event_files, 1);
}

TEST_F(TrackingConfigTest, CellsThatNameDifferentMirrorsAreOneConfigError) {
  const auto config = writeConfig("[grid]\n\"tracking.tensorboard_dir\" = [\"a\", \"b\"]\n");
  const auto result = e2e::runFerlab("run " + config + storeArguments());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find(config + ": tracking.tensorboard_dir differs between grid cells"),
            std::string::npos)
      << result.output;
  EXPECT_FALSE(fs::exists(dir_ / "ferlab.db")) << "no store for a config error";
}

TEST_F(TrackingConfigTest, MlflowUriMustBeAnHttpServer) {
  const auto config = writeConfig("[tracking]\nmlflow_uri = \"file:///tmp/mlruns\"\n");
  const auto result = e2e::runFerlab("run " + config + storeArguments());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("tracking.mlflow_uri: expected \"\" or an http:// or https:// URI"),
            std::string::npos)
      << result.output;
  EXPECT_FALSE(fs::exists(dir_ / "ferlab.db"));
}

}  // namespace
}  // namespace ferlab
