// `ferlab submit --slurm --dry-run`: the job array and merge scripts it prints hold what the
// cluster needs (array size and % throttle, %A_%a logs, --requeue, the USR2 trap that requeues,
// one cell and one shard store per task, the afterany merge) and are valid bash. Submitting
// for real is tested on a real cluster (tests/slurm/slurm_grid_test.sh).

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/FerlabProcess.h"

namespace ferlab {
namespace {

namespace fs = std::filesystem;

class SubmitCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ferlab-submit-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    config_ = (dir_ / "grid.toml").string();
    std::ofstream(config_) << "name = \"cluster\"\n[data]\npath = \"" << FERLAB_TEST_DATA
                           << "/fer2013\"\n[grid]\n\"train.seed\" = [1, 2, 3, 4, 5]\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string config_;
};

TEST_F(SubmitCommandTest, DryRunPrintsAValidJobArrayAndMergeJob) {
  const auto result = e2e::runFerlab(
      "submit " + config_ +
          " --slurm --dry-run --partition gpu --gpus-per-task 1 "
          "--cpus-per-task 4 --time 4:00:00 --array-parallelism 3 --set train.lr=0.01 --results " +
          (dir_ / "results").string() + " --db " + (dir_ / "merged.db").string(),
      false);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string& text = result.output;
  for (const char* line :
       {"#SBATCH --array=0-4%3\n", "/logs/%A_%a.out\n", "#SBATCH --requeue\n",
        "#SBATCH --signal=B:USR2@120\n", "#SBATCH --gpus-per-task=1\n",
        "#SBATCH --cpus-per-task=4\n", "#SBATCH --time=4:00:00\n", "#SBATCH --partition=gpu\n",
        "trap requeue USR2\n", "scontrol requeue \"$task\"", "kill -TERM \"$child\"",
        "--cell \"$SLURM_ARRAY_TASK_ID\" --shard", "shards/cell-\"$SLURM_ARRAY_TASK_ID\".db",
        "--set 'train.lr=0.01'", " merge '", "--dependency=afterany:"}) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\n" << text;
  }
  // A dry run writes nothing.
  EXPECT_FALSE(fs::exists(dir_ / "results"));
  // Both scripts parse as bash.
  const auto array_start = text.find("#!/bin/bash");
  const auto merge_start = text.find("#!/bin/bash", array_start + 1);
  ASSERT_NE(merge_start, std::string::npos) << text;
  std::ofstream(dir_ / "array.sbatch") << text.substr(array_start, merge_start - array_start);
  std::ofstream(dir_ / "merge.sbatch") << text.substr(merge_start);
  for (const char* script : {"array.sbatch", "merge.sbatch"}) {
    const auto syntax = e2e::runProgram("bash", "-n " + (dir_ / script).string());
    EXPECT_EQ(syntax.exit_code, 0) << script << ": " << syntax.output;
  }
}

TEST_F(SubmitCommandTest, BadArgumentsAreOneClearError) {
  auto result = e2e::runFerlab("submit " + config_ + " --dry-run");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("--slurm"), std::string::npos) << result.output;
  result = e2e::runFerlab("submit " + config_ + " --slurm --dry-run --array-parallelism -1");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("--array-parallelism -1"), std::string::npos) << result.output;
  result =
      e2e::runFerlab("run " + config_ + " --cell 5 --dry-run --db " + (dir_ / "x.db").string());
  EXPECT_EQ(result.exit_code, 0) << "--dry-run lists every cell, whatever --cell says";
  result = e2e::runFerlab("run " + config_ + " --cell 5 --db " + (dir_ / "x.db").string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("--cell 5: experiment cluster has 5 cell(s), numbered 0 to 4"),
            std::string::npos)
      << result.output;
  EXPECT_FALSE(fs::exists(dir_ / "x.db")) << "a bad --cell must not create the store";
  result = e2e::runFerlab("run " + config_ + " --workers 0 --db " + (dir_ / "x.db").string());
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("--workers 0"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace ferlab
