#include "framework/models/TransferModel.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "framework/core/Errors.h"
#include "framework/models/ModelRegistry.h"
#include "framework/models/backbones/ResNet.h"
#include "tests/ReferencePython.h"

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

// --- Weight files that do not fit the backbone ------------------------------------------

namespace fs = std::filesystem;

std::string fileText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// tests/models/transfer_weight_fixtures.py's torchvision files, written once per version of
// the script and interpreter into a folder named after their hash (renamed into place, so
// concurrent test processes never see half a set).
fs::path backboneFixtures() {
  static const fs::path folder = [] {
    const fs::path script =
        fs::path(FERLAB_SOURCE_DIR) / "tests/models/transfer_weight_fixtures.py";
    const auto python = e2e::referencePython();
    const auto hash = std::hash<std::string>{}(fileText(script) + "\n" + python);
    const fs::path target =
        fs::temp_directory_path() / fmt::format("ferlab-backbone-fixtures-{:016x}", hash);
    if (fs::exists(target / "done")) return target;
    fs::remove_all(target);
    const fs::path scratch = target.string() + fmt::format(".tmp{}", ::getpid());
    fs::remove_all(scratch);
    const auto log = scratch.string() + ".log";
    const auto command =
        fmt::format("'{}' '{}' '{}' > '{}' 2>&1", python, script.string(), scratch.string(), log);
    if (std::system(command.c_str()) != 0) {
      throw std::runtime_error("fixture script failed: " + fileText(log));
    }
    fs::remove(log);
    std::error_code taken;
    fs::rename(scratch, target, taken);
    if (taken) fs::remove_all(scratch);
    return target;
  }();
  return folder;
}

config::ModelConfig resnet18With(const std::string& file) {
  config::ModelConfig config;
  config.name = config::ModelName::ResNet18;
  config.input_size = 32;
  config.weights = (backboneFixtures() / file).string();
  config.strict_weights = false;
  return config;
}

// The message makeModel throws for `config`, or "" when it does not throw TrainError.
std::string loadError(const config::ModelConfig& config) {
  try {
    makeModel(config, 48);
  } catch (const TrainError& e) {
    return e.what();
  }
  return "";
}

TEST(BackboneWeights, FullFileLoadsAndCountsEveryBackboneTensor) {
  BackboneWeights weights;
  const auto model = makeModel(resnet18With("resnet18.pth"), 48, {}, &weights);
  // The backbone's tensors counted from the module itself: parameters plus buffers.
  std::int64_t backbone_tensors = 0;
  for (const auto& item : model->named_parameters()) {
    if (item.key().rfind("backbone.", 0) == 0) ++backbone_tensors;
  }
  for (const auto& item : model->named_buffers()) {
    if (item.key().rfind("backbone.", 0) == 0) ++backbone_tensors;
  }
  EXPECT_EQ(weights.total, backbone_tensors);
  EXPECT_EQ(weights.total, 120);  // the file's 122 keys less fc.weight and fc.bias
  EXPECT_EQ(weights.loaded, 120);
}

TEST(BackboneWeights, FileForAnotherArchitectureFailsWithoutStrictWeights) {
  const auto config = resnet18With("mobilenet_v2.pth");
  const std::string message = loadError(config);
  ASSERT_FALSE(message.empty()) << "a MobileNetV2 file loaded into resnet18";
  EXPECT_EQ(message.rfind(config.weights + ": not a weight file for resnet18", 0), 0u) << message;
  EXPECT_NE(message.find("fills 0 of the backbone's 120 tensors"), std::string::npos) << message;
  EXPECT_NE(message.find("120 missing [conv1.weight, bn1.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("and 112 more"), std::string::npos) << message;
}

TEST(BackboneWeights, PartialFileBelowTheThresholdFails) {
  ASSERT_DOUBLE_EQ(kMinBackboneTensorsLoaded, 0.9);
  const auto config = resnet18With("resnet18_no_layer4.pth");
  const std::string message = loadError(config);
  ASSERT_FALSE(message.empty()) << "90 of 120 tensors (75%) passed for a pretrained backbone";
  EXPECT_NE(message.find(config.weights), std::string::npos) << message;
  EXPECT_NE(message.find("fills 90 of the backbone's 120 tensors, fewer than the 90% needed"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("30 missing [layer4.0.conv1.weight"), std::string::npos) << message;
}

TEST(BackboneWeights, NoWeightFileMeansNoCounts) {
  config::ModelConfig config;
  config.name = config::ModelName::ResNet18;
  config.input_size = 32;
  BackboneWeights weights{5, 5};
  makeModel(config, 48, {}, &weights);
  EXPECT_EQ(weights.loaded, -1);
  EXPECT_EQ(weights.total, -1);
  config.name = config::ModelName::SimpleCnn;
  weights = {5, 5};
  makeModel(config, 48, {}, &weights);
  EXPECT_EQ(weights.loaded, -1);
}

}  // namespace
}  // namespace ferlab::models
