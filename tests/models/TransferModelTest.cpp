#include "framework/models/TransferModel.h"

#include <gtest/gtest.h>

#include "framework/models/ModelRegistry.h"
#include "framework/models/backbones/ResNet.h"

namespace ferlab::models {
namespace {

std::shared_ptr<BackboneImpl> resnet18() {
  ResNetOptions options;
  options.depth = 18;
  options.include_top = false;
  return ResNet(options).ptr();
}

// Keras' GaussianNoise: N(0, std^2) added in training, nothing in evaluation.
TEST(GaussianNoise, AddsNoiseOfTheConfiguredStdOnlyInTraining) {
  GaussianNoise noise(0.3);
  const auto x = torch::zeros({200000});
  torch::manual_seed(0);
  const auto noisy = noise->forward(x);
  EXPECT_NEAR(noisy.std().item<double>(), 0.3, 0.005);
  EXPECT_NEAR(noisy.mean().item<double>(), 0.0, 0.005);
  noise->eval();
  EXPECT_TRUE(torch::equal(noise->forward(x), x));
}

// The seeds' head: global average pooling, dense 128 ReLU, dropout, then the classifier.
TEST(TransferModel, BuildsTheConfiguredHead) {
  TransferModelOptions options;
  config::HeadLayerConfig dense;
  dense.units = 128;
  dense.dropout = 0.5;
  config::HeadLayerConfig noisy;
  noisy.units = 64;
  noisy.batch_norm = true;
  noisy.gaussian_noise = 0.1;
  options.head = {dense, noisy};
  TransferModel model(resnet18(), options);
  const auto parameters = model->named_parameters();
  EXPECT_EQ(parameters["head.0.weight"].sizes(), (std::vector<std::int64_t>{128, 512}));
  // Linear 0, ReLU 1, Dropout 2, then Linear(128, 64) 3 and its BatchNorm1d 4.
  EXPECT_EQ(parameters["head.3.weight"].sizes(), (std::vector<std::int64_t>{64, 128}));
  EXPECT_EQ(parameters["head.4.weight"].sizes(), (std::vector<std::int64_t>{64}));
  EXPECT_EQ(parameters["classifier.weight"].sizes(), (std::vector<std::int64_t>{7, 64}));
  model->eval();
  const auto logits = model->forward(torch::randn({2, 1, 48, 48}));
  EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{2, 7}));
}

TEST(TransferModel, NamesBackboneBlocksAndHead) {
  TransferModel model(resnet18(), TransferModelOptions{});
  const auto blocks = model->blockNames();
  ASSERT_FALSE(blocks.empty());
  EXPECT_EQ(blocks.front(), "backbone.conv1");
  EXPECT_EQ(blocks.back(), "backbone.layer4");
  EXPECT_TRUE(model->isHeadParameter("classifier.weight"));
  EXPECT_FALSE(model->isHeadParameter("backbone.layer4.0.conv1.weight"));
  EXPECT_EQ(model->parameterPrefix("layer4"), "backbone.layer4");
}

// Summing the RGB filters is exact when the three channels share one mean and std: the
// grey image replicated three times and the summed filter see the same numbers.
TEST(TransferModel, SumConv1EqualsReplicatedGreyInput) {
  torch::manual_seed(1);
  auto backbone = resnet18();
  auto copy = resnet18();
  {
    torch::NoGradGuard no_grad;
    const auto source = backbone->named_parameters();
    for (auto& item : copy->named_parameters()) item.value().copy_(source[item.key()]);
    const auto buffers = backbone->named_buffers();
    for (auto& item : copy->named_buffers()) item.value().copy_(buffers[item.key()]);
  }
  const auto rgb_filters = backbone->named_parameters()["conv1.weight"].clone();
  TransferModelOptions replicate;
  replicate.pretrained = true;
  replicate.rgb_mean = {0.5f, 0.5f, 0.5f};
  replicate.rgb_std = {0.25f, 0.25f, 0.25f};
  TransferModelOptions summed = replicate;
  summed.input_channels = config::InputChannels::SumConv1;
  TransferModel first(backbone, replicate);
  TransferModel second(copy, summed);
  {
    torch::NoGradGuard no_grad;
    second->named_parameters()["classifier.weight"].copy_(
        first->named_parameters()["classifier.weight"]);
    second->named_parameters()["classifier.bias"].copy_(
        first->named_parameters()["classifier.bias"]);
  }
  const auto grey_filters = second->named_parameters()["backbone.conv1.weight"];
  EXPECT_EQ(grey_filters.size(1), 1);
  EXPECT_TRUE(torch::allclose(grey_filters, rgb_filters.sum(1, true)));
  first->eval();
  second->eval();
  const auto x = torch::randn({2, 1, 48, 48});
  EXPECT_LT((first->forward(x) - second->forward(x)).abs().max().item<double>(), 1e-4);
}

TEST(ModelRegistry, BuildsEveryImageNetBackboneWithANewHead) {
  for (const std::string name : {"vgg16", "resnet50", "mobilenet_v2", "xception"}) {
    config::ModelConfig config;
    config.name = config::parseChoice<config::ModelName>(name).value();
    config.input_size = name == "xception" ? 71 : 32;
    EXPECT_TRUE(config::isImageNetBackbone(config.name));
    const auto model = makeModel(config, 48);
    model->eval();
    EXPECT_EQ(model->forward(torch::randn({1, 1, 48, 48})).size(1), 7) << name;
  }
  EXPECT_FALSE(config::isImageNetBackbone(config::ModelName::SimpleCnn));
}

}  // namespace
}  // namespace ferlab::models
