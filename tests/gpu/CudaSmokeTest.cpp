// CUDA smoke test (label `gpu`): simple_cnn on a small stratified slice of the real FER2013,
// trained for one epoch on the GPU, checkpointed, resumed for a second epoch, evaluated on
// PrivateTest, in fp32, bf16 and fp16 (with the loss scaler), and once end to end through the
// `ferlab` binary. On a machine without a CUDA device every test is skipped and says so.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <torch/cuda.h>
#include <unistd.h>

#include "framework/data/DatasetCache.h"
#include "framework/models/ModelRegistry.h"
#include "framework/tracking/SqliteStore.h"
#include "framework/train/FinalEvaluation.h"
#include "framework/train/Trainer.h"
#include "tests/FerlabProcess.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;
using config::Precision;

#define SKIP_WITHOUT_CUDA()                                                                 \
  if (!torch::cuda::is_available())                                                         \
  GTEST_SKIP() << "no CUDA device on this machine (torch::cuda::is_available() is false): " \
                  "the gpu-labelled tests need one"

fs::path scratch(const std::string& name) {
  const auto path = fs::temp_directory_path() / ("ferlab_gpu_" + std::to_string(::getpid())) / name;
  fs::remove_all(path);
  fs::create_directories(path);
  return path;
}

config::DataConfig smallFer2013(const fs::path& cache) {
  config::DataConfig data;
  data.path = std::string(FERLAB_TEST_DATA) + "/fer2013";
  data.cache_dir = cache.string();
  data.subset = 0.1;  // 2,871 training images; PublicTest and PrivateTest whole
  return data;
}

class CudaSmokeTest : public ::testing::TestWithParam<Precision> {};

TEST_P(CudaSmokeTest, TrainsCheckpointsResumesAndEvaluates) {
  SKIP_WITHOUT_CUDA();
  const auto root = scratch(config::precisionName(GetParam()));
  const auto splits = data::sealTestSplit(data::loadDataset(smallFer2013(root / "cache")));
  const DeviceDataset data(splits.selection, torch::Device(torch::kCUDA, 0));
  config::RunConfig config;
  config.model.name = config::ModelName::SimpleCnn;
  config.model.batch_norm = true;
  config.train.seed = 3;
  config.train.precision = GetParam();
  config.train.channels_last = true;
  config.augment.hflip = 0.5;

  const auto run_dir = (root / "run").string();
  config.train.epochs = 1;
  {
    torch::manual_seed(config.train.seed);
    Trainer trainer(config, models::makeModel(config.model, 48), data, run_dir);
    EXPECT_EQ(trainer.precision(), GetParam());  // CUDA supports every precision
    EXPECT_EQ(trainer.resume(), 0);
    trainer.fit([](const tracking::EpochRecord&, const tracking::RunSummary&) {});
  }
  ASSERT_TRUE(fs::exists(run_dir + "/last.pt"));
  ASSERT_TRUE(fs::exists(run_dir + "/best.pt"));

  config.train.epochs = 2;
  torch::manual_seed(config.train.seed);
  Trainer resumed(config, models::makeModel(config.model, 48), data, run_dir);
  EXPECT_EQ(resumed.resume(), 1);
  int epochs_trained = 0;
  resumed.fit([&](const tracking::EpochRecord& record, const tracking::RunSummary&) {
    EXPECT_EQ(record.epoch, 2);
    EXPECT_GT(record.images_per_sec, 0);
    ++epochs_trained;
  });
  EXPECT_EQ(epochs_trained, 1);
  resumed.loadBestCheckpoint();
  const auto test = FinalEvaluation::onPrivateTest(resumed, splits.test);
  EXPECT_EQ(test.labels.size(), 3589u);
  // Two epochs on a tenth of FER2013: well above the 24.5% majority class, if barely.
  EXPECT_GT(test.metrics.accuracy, 0.27) << config::precisionName(GetParam());
  fs::remove_all(root);
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaSmokeTest,
                         ::testing::Values(Precision::Fp32, Precision::Bf16, Precision::Fp16),
                         [](const auto& info) { return config::precisionName(info.param); });

TEST(CudaEndToEnd, FerlabRunRecordsTheDeviceAndPrecision) {
  SKIP_WITHOUT_CUDA();
  const auto root = scratch("e2e");
  const auto config_path = root / "gpu.toml";
  std::ofstream(config_path) << "name = \"gpu_smoke\"\n[data]\npath = \"" << FERLAB_TEST_DATA
                             << "/fer2013\"\ncache_dir = \"" << (root / "cache").string()
                             << "\"\nsubset = 0.05\n[train]\nepochs = 1\nprecision = \"bf16\"\n";
  const auto db = root / "ferlab.db";
  const auto result = e2e::runFerlab("run " + config_path.string() + " --device cuda --db " +
                                     db.string() + " --results " + (root / "results").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  tracking::SqliteStore store(db.string());
  const auto runs = store.listRuns();
  ASSERT_EQ(runs.size(), 1u);
  const auto& run = runs[0].record;
  EXPECT_EQ(run.status, tracking::RunStatus::Finished);
  EXPECT_EQ(run.device.rfind("cuda", 0), 0u) << run.device;
  EXPECT_EQ(run.precision, "bf16");
  EXPECT_GT(runs[0].summary.test_accuracy, 0.2);
  fs::remove_all(root);
}

}  // namespace
}  // namespace ferlab::train
