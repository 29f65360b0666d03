// The ImageNet backbones against their Python references (torchvision and timm's
// legacy_xception, tests/models/backbone_reference.py), run at test time by the pinned
// environment's interpreter (<source>/.venv/bin/python, or $FERLAB_PYTHON; scripts/setup.sh
// installs scripts/python.lock into .venv/): names, shapes and order of every parameter and
// buffer, output shapes, block names, and eval-mode outputs on randomly initialised weights.

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "framework/core/Errors.h"
#include "framework/models/WeightFile.h"
#include "framework/models/backbones/MobileNetV2.h"
#include "framework/models/backbones/ResNet.h"
#include "framework/models/backbones/Vgg.h"
#include "framework/models/backbones/Xception.h"
#include "tests/ReferencePython.h"

namespace ferlab::models {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kBackbones = {"vgg16",    "vgg16_bn", "vgg19",        "vgg19_bn",
                                             "resnet18", "resnet50", "mobilenet_v2", "xception"};

using e2e::referencePython;

std::string referenceCommand(const std::string& arguments) {
  return "'" + referencePython() + "' '" + FERLAB_SOURCE_DIR +
         "/tests/models/backbone_reference.py' " + arguments;
}

// stdout of `command`; fails the test when it exits with an error.
std::string run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string output;
  std::array<char, 4096> buffer{};
  while (const auto n = fread(buffer.data(), 1, buffer.size(), pipe.get()))
    output.append(buffer.data(), n);
  const int status = pclose(pipe.release());
  if (status != 0) throw std::runtime_error("failed (" + std::to_string(status) + "): " + command);
  return output;
}

std::shared_ptr<ImageNetBackboneImpl> makeBackbone(const std::string& name,
                                                   std::int64_t num_classes = 1000,
                                                   bool include_top = true) {
  if (name.rfind("vgg", 0) == 0) {
    VggOptions options;
    options.depth = std::stoi(name.substr(3, 2));
    options.batch_norm = name.size() > 5;  // "vgg16_bn"
    options.num_classes = num_classes;
    options.include_top = include_top;
    return Vgg(options).ptr();
  }
  if (name.rfind("resnet", 0) == 0) {
    ResNetOptions options;
    options.depth = std::stoi(name.substr(6));
    options.num_classes = num_classes;
    options.include_top = include_top;
    return ResNet(options).ptr();
  }
  if (name == "mobilenet_v2") {
    MobileNetV2Options options;
    options.num_classes = num_classes;
    options.include_top = include_top;
    return MobileNetV2(options).ptr();
  }
  XceptionOptions options;
  options.num_classes = num_classes;
  options.include_top = include_top;
  return Xception(options).ptr();
}

std::string describe(char kind, const std::string& name, const torch::Tensor& value) {
  std::string line = std::string(1, kind) + " " + name;
  for (const auto d : value.sizes()) line += " " + std::to_string(d);
  return line;
}

// "P name dims" per parameter, then "B name dims" per buffer, in registration order: the
// format backbone_reference.py prints.
std::vector<std::string> describe(const torch::nn::Module& module) {
  std::vector<std::string> lines;
  for (const auto& item : module.named_parameters())
    lines.push_back(describe('P', item.key(), item.value()));
  for (const auto& item : module.named_buffers())
    lines.push_back(describe('B', item.key(), item.value()));
  return lines;
}

// The reference's "P|B name dims" lines of every backbone, from one interpreter start (importing
// torch takes seconds) per test process.
const std::map<std::string, std::vector<std::string>>& referenceDescriptions() {
  static const auto descriptions = [] {
    std::string names;
    for (const auto& name : kBackbones) names += " " + name;
    std::istringstream output(run(referenceCommand("shapes" + names)));
    std::map<std::string, std::vector<std::string>> lines;
    std::vector<std::string>* current = nullptr;
    for (std::string line; std::getline(output, line);) {
      if (line.rfind("# ", 0) == 0) {
        current = &lines[line.substr(2)];
      } else if (!line.empty() && current != nullptr) {
        current->push_back(line);
      }
    }
    return lines;
  }();
  return descriptions;
}

std::vector<std::string> referenceDescription(const std::string& name) {
  const auto& descriptions = referenceDescriptions();
  const auto found = descriptions.find(name);
  return found == descriptions.end() ? std::vector<std::string>{} : found->second;
}

std::int64_t parameterCount(const torch::nn::Module& module) {
  std::int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

bool isHead(const std::string& name) {
  return name.rfind("classifier.", 0) == 0 || name.rfind("fc.", 0) == 0;
}

// Input size used for the shape tests: small, but Keras's minimum for Xception.
std::int64_t testSize(const std::string& name) {
  return name == "xception" ? 71 : 64;
}

class EveryBackbone : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryBackbone, HasTheReferenceParameterAndBufferNamesShapesAndOrder) {
  const auto expected = referenceDescription(GetParam());
  const auto actual = describe(*makeBackbone(GetParam()));
  ASSERT_FALSE(expected.empty());
  for (std::size_t i = 0; i < std::min(expected.size(), actual.size()); ++i) {
    ASSERT_EQ(actual[i], expected[i]) << "first difference at entry " << i;
  }
  EXPECT_EQ(actual.size(), expected.size());
}

TEST_P(EveryBackbone, MapsImagesToLogitsAndFeatureMaps) {
  torch::NoGradGuard no_grad;
  const auto size = testSize(GetParam());
  const auto model = makeBackbone(GetParam(), 5);
  model->eval();
  const auto x = torch::randn({2, 3, size, size});
  const auto logits = model->forward(x);
  EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{2, 5}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  const auto features = model->features(x);
  const std::int64_t side = GetParam() == "xception" ? 3 : 2;  // 71 -> 35 -> 33 -> 17, 9, 5, 3
  EXPECT_EQ(features.sizes(), (std::vector<std::int64_t>{2, model->featureChannels(), side, side}));
}

TEST_P(EveryBackbone, WithoutTopHasNoClassifierAndOnlyComputesFeatures) {
  torch::NoGradGuard no_grad;
  const auto with_top = makeBackbone(GetParam(), 5, true);
  const auto model = makeBackbone(GetParam(), 5, false);
  model->eval();
  for (const auto& item : model->named_parameters()) EXPECT_FALSE(isHead(item.key())) << item.key();
  std::int64_t head = 0;
  for (const auto& item : with_top->named_parameters()) {
    if (isHead(item.key())) head += item.value().numel();
  }
  EXPECT_EQ(parameterCount(*model), parameterCount(*with_top) - head);

  const auto size = testSize(GetParam());
  const auto x = torch::randn({1, 3, size, size});
  EXPECT_EQ(model->features(x).size(1), model->featureChannels());
  EXPECT_THROW(model->forward(x), TrainError);
}

TEST_P(EveryBackbone, BlockNamesPartitionTheBackboneInOrder) {
  const auto model = makeBackbone(GetParam(), 5, false);
  const auto blocks = model->blockNames();
  const std::set<std::string> unique(blocks.begin(), blocks.end());
  EXPECT_EQ(unique.size(), blocks.size());
  std::vector<std::string> order;  // blocks in the order their first tensor appears
  const auto check = [&](const std::string& name) {
    if (isHead(name)) return;
    std::vector<std::string> owners;
    for (const auto& block : blocks) {
      if (name.rfind(block + ".", 0) == 0) owners.push_back(block);
    }
    ASSERT_EQ(owners.size(), 1u) << name;
    if (order.empty() || order.back() != owners[0]) order.push_back(owners[0]);
  };
  for (const auto& item : model->named_parameters()) check(item.key());
  EXPECT_EQ(order, blocks);  // every block owns parameters, in input-to-output order
  for (const auto& item : model->named_buffers()) check(item.key());
}

TEST_P(EveryBackbone, RejectsWrongInputShapes) {
  const auto model = makeBackbone(GetParam(), 5, false);
  EXPECT_THROW(model->features(torch::zeros({1, 1, 64, 64})), TrainError);
  EXPECT_THROW(model->features(torch::zeros({3, 64, 64})), TrainError);
  const auto too_small = model->minInputSize() - 1;
  if (too_small > 0) {
    EXPECT_THROW(model->features(torch::zeros({1, 3, too_small, too_small})), TrainError);
  }
  torch::NoGradGuard no_grad;
  model->eval();
  const auto smallest = model->minInputSize();
  EXPECT_EQ(model->features(torch::zeros({1, 3, smallest, smallest})).size(1),
            model->featureChannels());
}

struct RemoveOnExit {
  std::vector<fs::path> paths;
  ~RemoveOnExit() {
    std::error_code ignored;
    for (const auto& path : paths) fs::remove(path, ignored);
  }
};

torch::Tensor named(const StateDict& tensors, const std::string& name) {
  for (const auto& [key, value] : tensors) {
    if (key == name) return value;
  }
  throw std::runtime_error(name + " not found");
}

TEST_P(EveryBackbone, LoadsTheReferenceStateDictAndComputesItsOutputs) {
  const auto& name = GetParam();
  const auto path = fs::temp_directory_path() / ("ferlab_backbone_" + name + ".pt");
  const auto io_path = path.string() + ".io";
  run(referenceCommand("save " + name + " 10 " + std::to_string(testSize(name)) + " " +
                       path.string()));
  const RemoveOnExit remove{{path, io_path}};  // VGG's file is about 500 MB
  const auto weights = readWeightFile(path.string());
  const auto io = readWeightFile(io_path);

  const auto model = makeBackbone(name, 10);
  const auto report = loadStateDict(*model, weights, /*strict=*/true);
  EXPECT_EQ(report.loaded.size(), model->parameters().size() + model->buffers().size());
  model->eval();
  torch::NoGradGuard no_grad;
  const auto output = model->forward(named(io, "input"));
  const auto expected = named(io, "output");
  ASSERT_EQ(output.sizes(), expected.sizes());
  const double max_diff = (output - expected).abs().max().item<double>();
  const double scale = expected.abs().max().item<double>();
  std::cout << name << ": max |C++ - Python| = " << max_diff << " (max |logit| " << scale << ")\n";
  EXPECT_LT(max_diff, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Backbones, EveryBackbone, ::testing::ValuesIn(kBackbones));

// Every "name==version" pin of scripts/python.lock.
std::map<std::string, std::string> lockedVersions() {
  std::ifstream lock(std::string(FERLAB_SOURCE_DIR) + "/scripts/python.lock");
  std::map<std::string, std::string> versions;
  const std::regex pin(R"(^([A-Za-z0-9_.-]+)==([^ ]+))");
  std::smatch match;
  for (std::string line; std::getline(lock, line);) {
    if (std::regex_search(line, match, pin)) versions[match[1]] = match[2];
  }
  return versions;
}

TEST(Reference, RunsThePinnedTorchTorchvisionAndTimm) {
  // The equivalence above means "equal to the versions scripts/python.lock pins"; a local
  // version suffix (torch's "+cu130") is the wheel's build, not another release.
  const auto locked = lockedVersions();
  std::istringstream reported(run(referenceCommand("versions")));
  std::string package, version;
  int seen = 0;
  while (reported >> package >> version) {
    ++seen;
    ASSERT_TRUE(locked.count(package)) << package << " is not pinned in scripts/python.lock";
    EXPECT_EQ(version.substr(0, version.find('+')), locked.at(package)) << package;
  }
  EXPECT_EQ(seen, 3);
}

TEST(Reference, AMissingInterpreterFailsAndSaysToRunSetup) {
  const char* saved = std::getenv("FERLAB_PYTHON");
  const std::string previous = saved ? saved : "";
  ::setenv("FERLAB_PYTHON", "/nonexistent/ferlab/python", 1);
  std::string message;
  try {
    referencePython();
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  if (saved) {
    ::setenv("FERLAB_PYTHON", previous.c_str(), 1);
  } else {
    ::unsetenv("FERLAB_PYTHON");
  }
  EXPECT_NE(message.find("FERLAB_PYTHON=/nonexistent/ferlab/python"), std::string::npos) << message;
  EXPECT_NE(message.find("run scripts/setup.sh"), std::string::npos) << message;
}

TEST(Xception, HasTheKerasParameterCount) {
  // Keras's Xception summary: 22,855,952 trainable parameters (BatchNorm moving statistics
  // are buffers here), as timm 1.0.31's legacy_xception; the 1000-class fc holds 2048 x 1000
  // + 1000 of them.
  EXPECT_EQ(parameterCount(*makeBackbone("xception")), 22855952);
  EXPECT_EQ(parameterCount(*makeBackbone("xception", 1000, false)), 22855952 - 2049000);
}

TEST(Backbones, HaveTorchvisionParameterCounts) {
  // torchvision 0.26.0: sum(p.numel() for p in model.parameters()) (unchanged since 0.14).
  EXPECT_EQ(parameterCount(*makeBackbone("resnet18")), 11689512);
  EXPECT_EQ(parameterCount(*makeBackbone("resnet50")), 25557032);
  EXPECT_EQ(parameterCount(*makeBackbone("mobilenet_v2")), 3504872);
  EXPECT_EQ(parameterCount(*makeBackbone("vgg16_bn")), 138365992);
}

TEST(Backbones, ListTheDocumentedBlocks) {
  EXPECT_EQ(makeBackbone("resnet50")->blockNames(),
            (std::vector<std::string>{"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"}));
  const auto mobilenet = makeBackbone("mobilenet_v2")->blockNames();
  ASSERT_EQ(mobilenet.size(), 19u);
  EXPECT_EQ(mobilenet.front(), "features.0");
  EXPECT_EQ(mobilenet.back(), "features.18");
  const auto xception = makeBackbone("xception")->blockNames();
  ASSERT_EQ(xception.size(), 20u);
  EXPECT_EQ(xception[4], "block1");
  EXPECT_EQ(xception[15], "block12");
  EXPECT_EQ(xception.back(), "bn4");
  EXPECT_EQ(makeBackbone("vgg16", 1000, false)->blockNames().size(), 13u);
  EXPECT_EQ(makeBackbone("vgg19_bn", 1000, false)->blockNames().size(), 32u);
}

TEST(Backbones, ReportFeatureChannels) {
  EXPECT_EQ(makeBackbone("vgg19", 1000, false)->featureChannels(), 512);
  EXPECT_EQ(makeBackbone("resnet18", 1000, false)->featureChannels(), 512);
  EXPECT_EQ(makeBackbone("resnet50", 1000, false)->featureChannels(), 2048);
  EXPECT_EQ(makeBackbone("mobilenet_v2", 1000, false)->featureChannels(), 1280);
  EXPECT_EQ(makeBackbone("xception", 1000, false)->featureChannels(), 2048);
}

TEST(Backbones, UnsupportedDepthIsAConfigError) {
  VggOptions vgg;
  vgg.depth = 11;
  EXPECT_THROW(Vgg{vgg}, ConfigError);
  ResNetOptions resnet;
  resnet.depth = 34;
  EXPECT_THROW(ResNet{resnet}, ConfigError);
}

TEST(Backbones, AcceptGreyInputOnceTheFirstConvolutionIsSummed) {
  // TransferModel's "sum_conv1" input adaptation replaces the first filters by their sum.
  torch::NoGradGuard no_grad;
  for (const std::string name : {"vgg16", "resnet18", "mobilenet_v2", "xception"}) {
    const auto model = makeBackbone(name, 5, false);
    model->eval();
    for (auto& parameter : model->parameters()) {
      if (parameter.dim() != 4) continue;
      parameter.set_data(parameter.sum(1, /*keepdim=*/true));
      break;
    }
    const auto size = testSize(name);
    EXPECT_EQ(model->features(torch::randn({1, 1, size, size})).size(1), model->featureChannels())
        << name;
    EXPECT_THROW(model->features(torch::randn({1, 3, size, size})), TrainError) << name;
  }
}

TEST(Backbones, TrainModeForwardRuns) {
  // BatchNorm in training mode and dropout active: the path fine-tuning takes.
  const auto model = makeBackbone("resnet18", 7);
  model->train();
  const auto logits = model->forward(torch::randn({2, 3, 48, 48}));
  EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{2, 7}));
  logits.sum().backward();
  EXPECT_TRUE(model->named_parameters()["conv1.weight"].grad().defined());
}

}  // namespace
}  // namespace ferlab::models
