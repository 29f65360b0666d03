// The protocol enforced by types: PrivateTest is sealed away from training and selection, and
// only the final evaluation opens it.

#include "framework/train/FinalEvaluation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <type_traits>

#include <unistd.h>

#include "framework/core/Errors.h"
#include "framework/data/SealedTestSplit.h"
#include "framework/models/ModelRegistry.h"
#include "tests/train/BandDataset.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;

// Code outside FinalEvaluation cannot make the key, so it cannot open the split: a line such
// as `data::TestSplitKey key;` in the trainer does not compile.
static_assert(!std::is_default_constructible_v<data::TestSplitKey>);
static_assert(!std::is_constructible_v<data::SealedTestSplit, data::Dataset>);

TEST(SealedTestSplit, SelectionHoldsNoPrivateTestSample) {
  const data::Dataset dataset = bandDataset(4);  // 12 train, 12 val, 12 test, in that order
  const data::ProtocolSplits splits = data::sealTestSplit(dataset);
  EXPECT_EQ(splits.selection.size(), 24u);
  EXPECT_TRUE(splits.selection.indicesOf(data::Split::Test).empty());
  EXPECT_EQ(splits.selection.indicesOf(data::Split::Val).size(), 12u);
  EXPECT_EQ(splits.test.size(), 12u);
  ASSERT_EQ(splits.selection_source_indices.size(), 24u);
  for (std::size_t i = 0; i < 24; ++i) {
    const auto source = static_cast<std::size_t>(splits.selection_source_indices[i]);
    EXPECT_EQ(splits.selection.sample_ids[i], dataset.sample_ids[source]);
    EXPECT_EQ(splits.selection.labels[i], dataset.labels[source]);
  }
  EXPECT_EQ(splits.test.source_indices().front(), 24);
  EXPECT_EQ(splits.selection.key, dataset.key);
}

TEST(SealedTestSplit, DeviceDatasetRefusesPrivateTestSamples) {
  EXPECT_THROW(DeviceDataset(bandDataset(2), torch::kCPU), std::logic_error);
  const DeviceDataset selection(data::sealTestSplit(bandDataset(2)).selection, torch::kCPU);
  EXPECT_EQ(selection.count(data::Split::Test), 0);
}

TEST(SealedTestSplit, FinalEvaluationSeesEveryTestImageInSourceNumbering) {
  const data::Dataset dataset = bandDataset(4);
  const data::ProtocolSplits splits = data::sealTestSplit(dataset);
  const DeviceDataset selection(splits.selection, torch::kCPU);
  config::RunConfig config;
  config.model.num_classes = 3;
  config.train.epochs = 1;
  config.train.batch_size = 8;
  torch::manual_seed(1);
  const fs::path dir = fs::temp_directory_path() / ("ferlab_sealed_" + std::to_string(::getpid()));
  Trainer trainer(config, models::makeModel(config.model, 24), selection, dir.string());
  const SplitEvaluation test = FinalEvaluation::onPrivateTest(trainer, splits.test);
  ASSERT_EQ(test.labels.size(), 12u);
  for (std::size_t i = 0; i < test.labels.size(); ++i) {
    const auto source = static_cast<std::size_t>(test.sample_indices[i]);
    EXPECT_EQ(dataset.splits[source], data::Split::Test);
    EXPECT_EQ(test.sample_ids[i], dataset.sample_ids[source]);
    EXPECT_EQ(test.labels[i], dataset.labels[source]);
  }
  // The same numbers as a direct evaluation would give: normalised with the training split's
  // statistics, not the test split's own.
  const SplitEvaluation again = FinalEvaluation::onPrivateTest(trainer, splits.test);
  EXPECT_EQ(again.probabilities, test.probabilities);
  fs::remove_all(dir);
}

TEST(SealedTestSplit, TrainerRefusesDataWithoutValidation) {
  data::Dataset dataset = bandDataset(2);
  for (auto& split : dataset.splits) {
    if (split == data::Split::Val) split = data::Split::Train;
  }
  const DeviceDataset selection(data::sealTestSplit(dataset).selection, torch::kCPU);
  config::RunConfig config;
  const fs::path dir = fs::temp_directory_path() / ("ferlab_noval_" + std::to_string(::getpid()));
  try {
    Trainer trainer(config, models::makeModel(config.model, 24), selection, dir.string());
    ADD_FAILURE() << "expected a DataError";
  } catch (const DataError& error) {
    EXPECT_NE(std::string(error.what()).find("no validation (PublicTest) images"),
              std::string::npos)
        << error.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ferlab::train
