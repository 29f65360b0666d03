#include <gtest/gtest.h>

#include "framework/core/Errors.h"
#include "framework/models/ModelRegistry.h"

namespace ferlab::models {
namespace {

config::ModelConfig modelConfig(const std::string& name, bool batch_norm) {
  config::ModelConfig config;
  config.name = config::parseChoice<config::ModelName>(name).value();
  config.batch_norm = batch_norm;
  return config;
}

TEST(SimpleCnn, HasTheKerasParameterCount) {
  // conv 320 + 18,496 + 73,856 + 147,584, dense 2,098,176 + 7,175: the Keras summary of the
  // seeds' custom CNN (flatten = 128 x 4 x 4 = 2048 at 48 x 48).
  const auto model = makeModel(modelConfig("simple_cnn", false), 48);
  EXPECT_EQ(parameterCount(*model), 2345607);
}

TEST(FastCnn, HasTheDocumentedLayers) {
  // conv+bias 320, 18,496, 36,928, 73,856, 147,584, 295,168, 590,080; batch-norm weight+bias
  // 2 x (32 + 64 + 64 + 128 + 128 + 256 + 256) = 1,856; linear 256 x 7 + 7 = 1,799.
  const auto model = makeModel(modelConfig("fast_cnn", true), 48);
  EXPECT_EQ(parameterCount(*model), 1166087);
  // Global average pooling: any input of at least 8 px gives the same head.
  model->eval();
  EXPECT_EQ(model->forward(torch::zeros({2, 1, 64, 64})).sizes(),
            (std::vector<std::int64_t>{2, 7}));
}

TEST(VggNet, FlattensTo4608AtFullResolution) {
  const auto model = makeModel(modelConfig("vggnet", true), 48);
  const auto named = model->named_parameters();
  // First dense layer: 512 x 3 x 3 inputs -> 4096.
  const auto& first_dense = named["classifier.0.weight"];
  EXPECT_EQ(first_dense.size(0), 4096);
  EXPECT_EQ(first_dense.size(1), 4608);
}

class EveryModel : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryModel, MapsABatchToLogits) {
  torch::manual_seed(0);
  for (const bool batch_norm : {false, true}) {
    const auto model = makeModel(modelConfig(GetParam(), batch_norm), 48);
    model->train();
    const auto logits = model->forward(torch::randn({4, 1, 48, 48}));
    EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{4, 7}));
    EXPECT_EQ(logits.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  }
}

TEST_P(EveryModel, BatchNormOptionAddsBatchNormLayers) {
  const auto count_batch_norm = [](const ClassifierPtr& model) {
    int count = 0;
    for (const auto& item : model->named_buffers())
      count += item.key().find("running_mean") != std::string::npos;
    return count;
  };
  EXPECT_EQ(count_batch_norm(makeModel(modelConfig(GetParam(), false), 48)), 0);
  EXPECT_GT(count_batch_norm(makeModel(modelConfig(GetParam(), true), 48)), 0);
}

TEST_P(EveryModel, SameSeedGivesSameInitialisation) {
  torch::manual_seed(7);
  const auto first = makeModel(modelConfig(GetParam(), true), 48);
  torch::manual_seed(7);
  const auto second = makeModel(modelConfig(GetParam(), true), 48);
  const auto a = first->parameters(), b = second->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i]));
}

TEST_P(EveryModel, NumClassesSetsTheOutputWidth) {
  auto config = modelConfig(GetParam(), true);
  config.num_classes = 3;
  const auto model = makeModel(config, 48);
  model->eval();
  EXPECT_EQ(model->forward(torch::zeros({2, 1, 48, 48})).size(1), 3);
}

INSTANTIATE_TEST_SUITE_P(FromScratch, EveryModel,
                         ::testing::Values("simple_cnn", "vggnet", "elu_cnn", "fast_cnn"));

TEST(ModelRegistry, TooSmallInputIsAConfigError) {
  EXPECT_THROW(makeModel(modelConfig("simple_cnn", false), 12), ConfigError);
  EXPECT_THROW(makeModel(modelConfig("vggnet", true), 8), ConfigError);
}

}  // namespace
}  // namespace ferlab::models
