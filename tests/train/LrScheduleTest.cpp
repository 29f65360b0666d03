#include "framework/train/LrSchedule.h"

#include <cmath>

#include <gtest/gtest.h>

namespace ferlab::train {
namespace {

config::TrainConfig trainConfig(const std::string& schedule) {
  config::TrainConfig config;
  config.schedule = config::parseChoice<config::Schedule>(schedule).value();
  config.lr = 0.1;
  config.epochs = 10;
  return config;
}

TEST(LrSchedule, NoneIsConstant) {
  const LrSchedule schedule(trainConfig("none"));
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(1), 0.1);
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(10), 0.1);
}

TEST(LrSchedule, StepDecaysEveryStepSizeEpochs) {
  auto config = trainConfig("step");
  config.step_size = 3;
  config.gamma = 0.5;
  const LrSchedule schedule(config);
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(1), 0.1);
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(3), 0.1);
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(4), 0.05);
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(7), 0.025);
}

TEST(LrSchedule, CosineStartsAtLrAndHalvesAtMidpoint) {
  auto config = trainConfig("cosine");
  config.min_lr = 0.0;
  const LrSchedule schedule(config);
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(1), 0.1);
  EXPECT_NEAR(schedule.lrForEpoch(6), 0.05, 1e-12);  // progress 5/10 -> cos(pi/2) = 0
  EXPECT_LT(schedule.lrForEpoch(10), schedule.lrForEpoch(9));
}

TEST(LrSchedule, PlateauReducesAfterPatienceAndRestores) {
  auto config = trainConfig("plateau");
  config.plateau_patience = 2;
  config.gamma = 0.1;
  config.monitor = config::Monitor::ValAccuracy;
  LrSchedule schedule(config);
  schedule.observe(0.50);  // best
  schedule.observe(0.50);  // bad 1
  schedule.observe(0.49);  // bad 2
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(4), 0.1);
  schedule.observe(0.50);  // bad 3 > patience -> reduce
  EXPECT_NEAR(schedule.lrForEpoch(5), 0.01, 1e-15);
  LrSchedule restored(config);
  restored.restore(schedule.state());
  EXPECT_DOUBLE_EQ(restored.lrForEpoch(5), schedule.lrForEpoch(5));
}

TEST(LrSchedule, PlateauOnLossMinimises) {
  auto config = trainConfig("plateau");
  config.plateau_patience = 0;
  config.monitor = config::Monitor::ValLoss;
  config.min_lr = 0.05;
  LrSchedule schedule(config);
  schedule.observe(1.0);
  schedule.observe(0.9);  // improvement on a loss
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(3), 0.1);
  schedule.observe(0.95);  // worse -> reduce, floored at min_lr
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(4), 0.05);
}

// Expected rates printed by PyTorch 2.11's torch.optim.lr_scheduler.OneCycleLR(max_lr=0.01,
// epochs=2, steps_per_epoch=5, cycle_momentum=False), one per optimiser step.
TEST(LrSchedule, OneCycleMatchesTorchOneCycleLR) {
  auto config = trainConfig("onecycle");
  config.lr = 0.01;
  config.epochs = 2;
  const LrSchedule schedule(config);
  EXPECT_TRUE(schedule.perStep());
  const double torch_rates[] = {0.0003999999999999993,
                                0.0052,
                                0.01,
                                0.009504846320134737,
                                0.008117456539497631,
                                0.0061126202193628925,
                                0.003887419780637108,
                                0.00188258346050237,
                                0.0004951936798652628,
                                4e-08};
  for (int i = 0; i < 10; ++i) {
    EXPECT_NEAR(schedule.lrForStep(1 + i / 5, i % 5, 5), torch_rates[i], 1e-15) << "step " << i;
  }
  EXPECT_DOUBLE_EQ(schedule.lrForEpoch(1), torch_rates[0]);
  EXPECT_NEAR(schedule.lrForEpoch(2),
              (0.01 / 25 / 1e4 + 0.01) / 2 +
                  (0.01 - 0.01 / 25 / 1e4) / 2 * std::cos(M_PI * (0.5 - 0.3) / 0.7),
              1e-6);
}

TEST(LrSchedule, EpochSchedulesIgnoreTheStep) {
  const LrSchedule schedule(trainConfig("cosine"));
  EXPECT_FALSE(schedule.perStep());
  EXPECT_DOUBLE_EQ(schedule.lrForStep(3, 7, 10), schedule.lrForEpoch(3));
}

}  // namespace
}  // namespace ferlab::train
