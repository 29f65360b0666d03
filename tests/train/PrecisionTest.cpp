// Mixed precision (train.precision), channels-last, and the fp16 loss scaler, on the CPU.
#include "framework/train/Precision.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include <ATen/cpu/Utils.h>
#include <torch/nn/modules/conv.h>
#include <torch/optim/sgd.h>
#include <unistd.h>

#include "framework/core/Errors.h"
#include "framework/models/ModelRegistry.h"
#include "framework/train/GradScaler.h"
#include "framework/data/SealedTestSplit.h"
#include "framework/train/Trainer.h"
#include "tests/train/BandDataset.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;
using config::Precision;

bool cpuHas(const char* capability) {
  const auto capabilities = at::cpu::get_cpu_capabilities();
  const auto found = capabilities.find(capability);
  return found != capabilities.end() && found->second.toBool();
}

TEST(Precision, NamesRoundTripAndUnknownNameIsNone) {
  for (const auto precision : {Precision::Fp32, Precision::Bf16, Precision::Fp16})
    EXPECT_EQ(config::parseChoice<Precision>(config::precisionName(precision)), precision);
  EXPECT_FALSE(config::parseChoice<Precision>("half").has_value());
}

TEST(Precision, CpuBf16FollowsTheHardwareAndSaysWhyItFallsBack) {
  const auto choice = choosePrecision(Precision::Bf16, torch::kCPU);
  const bool native = cpuHas("avx512_bf16") || cpuHas("amx_bf16");
  EXPECT_EQ(choice.requested, Precision::Bf16);
  EXPECT_EQ(choice.effective, native ? Precision::Bf16 : Precision::Fp32);
  EXPECT_EQ(choice.fallback_reason.empty(), native) << choice.fallback_reason;
  EXPECT_EQ(choosePrecision(Precision::Fp32, torch::kCPU).effective, Precision::Fp32);
  const auto fp16 = choosePrecision(Precision::Fp16, torch::kCPU);
  EXPECT_EQ(fp16.effective, Precision::Fp32);
  EXPECT_NE(fp16.fallback_reason.find("use bf16"), std::string::npos);
  // CUDA supports every precision: nothing falls back there (no GPU needed to decide).
  const auto cuda = choosePrecision(Precision::Fp16, torch::Device(torch::kCUDA, 0));
  EXPECT_EQ(cuda.effective, Precision::Fp16);
  EXPECT_TRUE(cuda.fallback_reason.empty());
}

TEST(Precision, AutocastScopeRunsConvolutionsInBf16AndRestoresTheState) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(1, 4, 3));
  const auto input = torch::randn({2, 1, 8, 8});
  EXPECT_EQ(conv->forward(input).scalar_type(), torch::kFloat32);
  {
    const AutocastScope outer(Precision::Bf16, torch::kCPU);
    EXPECT_EQ(conv->forward(input).scalar_type(), torch::kBFloat16);
    {
      const AutocastScope inner(Precision::Fp32, torch::kCPU);  // fp32 changes nothing
      EXPECT_EQ(conv->forward(input).scalar_type(), torch::kBFloat16);
    }
    // Parameters stay float32 under autocast: only the op's inputs are cast.
    EXPECT_EQ(conv->weight.scalar_type(), torch::kFloat32);
  }
  EXPECT_EQ(conv->forward(input).scalar_type(), torch::kFloat32);
}

TEST(Precision, ChannelsLastKeepsValuesAndShapes) {
  torch::manual_seed(3);
  auto model = models::makeModel(config::ModelConfig{}, 48);
  const auto input = torch::randn({2, 1, 48, 48});
  model->eval();
  const auto before = model->forward(input);
  toChannelsLast(*model);
  int converted = 0;
  for (const auto& parameter : model->parameters()) {
    if (parameter.dim() != 4) continue;
    EXPECT_TRUE(parameter.is_contiguous(torch::MemoryFormat::ChannelsLast));
    ++converted;
  }
  EXPECT_GT(converted, 0);
  const auto after = model->forward(input.contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::allclose(before, after, 1e-4, 1e-5));
}

// --- GradScaler --------------------------------------------------------------------------

struct OneParameter {
  torch::Tensor weight = torch::full({2}, 1.0).requires_grad_();
  torch::optim::SGD optimizer{std::vector<torch::Tensor>{weight}, torch::optim::SGDOptions(0.5)};
};

TEST(GradScaler, DisabledScalerPassesTheLossThroughAndSteps) {
  OneParameter p;
  GradScaler scaler(false, torch::kCPU);
  const auto loss = (p.weight * 3).sum();
  EXPECT_TRUE(scaler.scale(loss).equal(loss));
  scaler.scale(loss).backward();
  EXPECT_TRUE(scaler.unscale(p.optimizer));
  EXPECT_TRUE(scaler.step(p.optimizer));
  EXPECT_TRUE(torch::allclose(p.weight, torch::full({2}, 1.0 - 0.5 * 3)));
  EXPECT_EQ(scaler.scaleValue(), 1.0);
}

TEST(GradScaler, UnscalesBeforeTheStepSoTheUpdateIsTheUnscaledOne) {
  OneParameter p;
  GradScaler scaler(true, torch::kCPU);
  EXPECT_EQ(scaler.scaleValue(), 65536.0);
  const auto loss = (p.weight * 3).sum();
  EXPECT_FLOAT_EQ(scaler.scale(loss).item<float>(), 6.0f * 65536.0f);
  scaler.scale(loss).backward();
  EXPECT_FLOAT_EQ(p.weight.grad()[0].item<float>(), 3.0f * 65536.0f);
  EXPECT_TRUE(scaler.unscale(p.optimizer));
  EXPECT_TRUE(torch::allclose(p.weight.grad(), torch::full({2}, 3.0)));
  EXPECT_TRUE(scaler.step(p.optimizer));
  EXPECT_TRUE(torch::allclose(p.weight.detach(), torch::full({2}, -0.5)));
  EXPECT_EQ(scaler.scaleValue(), 65536.0);  // one finite step: no growth yet
}

TEST(GradScaler, NonFiniteGradientsSkipTheStepAndHalveTheScale) {
  OneParameter p;
  GradScaler scaler(true, torch::kCPU);
  (p.weight * std::numeric_limits<float>::infinity()).sum().backward();
  EXPECT_FALSE(scaler.unscale(p.optimizer));
  EXPECT_FALSE(scaler.step(p.optimizer));
  EXPECT_TRUE(torch::equal(p.weight.detach(), torch::full({2}, 1.0)));
  EXPECT_EQ(scaler.scaleValue(), 32768.0);
}

TEST(GradScaler, GrowsAfterTheGrowthIntervalAndRoundTripsThroughAnArchive) {
  OneParameter p;
  GradScalerOptions options;
  options.growth_interval = 2;
  GradScaler scaler(true, torch::kCPU, options);
  for (int step = 0; step < 2; ++step) {
    p.optimizer.zero_grad();
    scaler.scale(p.weight.sum()).backward();
    EXPECT_TRUE(scaler.step(p.optimizer));
  }
  EXPECT_EQ(scaler.scaleValue(), 131072.0);
  torch::serialize::OutputArchive out;
  scaler.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  std::istringstream read(bytes.str());
  in.load_from(read);
  GradScaler restored(true, torch::kCPU, options);
  restored.load(in);
  EXPECT_EQ(restored.scaleValue(), 131072.0);
}

// --- Training in reduced precision -------------------------------------------------------

class Bf16TrainingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ferlab_precision_" + std::to_string(::getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  config::RunConfig run(int epochs) const {
    config::RunConfig config;
    config.model.name = config::ModelName::SimpleCnn;
    config.model.num_classes = 3;
    config.train.epochs = epochs;
    config.train.batch_size = 16;
    config.train.seed = 5;
    config.train.precision = Precision::Bf16;
    config.train.channels_last = true;
    return config;
  }

  std::vector<torch::Tensor> train(const std::string& dir, int epochs) {
    const auto config = run(epochs);
    torch::manual_seed(config.train.seed);
    auto model = models::makeModel(config.model, 24);
    Trainer trainer(config, model, data_, (root_ / dir).string());
    trainer.resume();
    trainer.fit([&](const tracking::EpochRecord& record, const tracking::RunSummary&) {
      last_val_accuracy_ = record.val_accuracy;
    });
    precision_ = trainer.precision();
    std::vector<torch::Tensor> parameters;
    for (const auto& p : model->parameters()) {
      EXPECT_EQ(p.scalar_type(), torch::kFloat32);  // master weights stay float32
      parameters.push_back(p.detach().clone());
    }
    return parameters;
  }

  fs::path root_;
  data::Dataset dataset_ = bandDataset(20);
  DeviceDataset data_{data::sealTestSplit(dataset_).selection, torch::kCPU};
  double last_val_accuracy_ = 0;
  Precision precision_ = Precision::Fp32;
};

// bf16 + channels-last on the CPU (where the CPU has native bf16; fp32 otherwise, and the
// same checks hold): it learns, and a resumed run ends bit-identical to an uninterrupted one.
TEST_F(Bf16TrainingTest, LearnsAndResumesBitIdentically) {
  const auto straight = train("straight", 4);
  EXPECT_EQ(precision_, choosePrecision(Precision::Bf16, torch::kCPU).effective);
  EXPECT_GT(last_val_accuracy_, 0.9);
  train("interrupted", 2);
  const auto resumed = train("interrupted", 4);
  ASSERT_EQ(straight.size(), resumed.size());
  for (std::size_t i = 0; i < straight.size(); ++i)
    EXPECT_TRUE(torch::equal(straight[i], resumed[i])) << "parameter " << i;
}

}  // namespace
}  // namespace ferlab::train
