#include "framework/config/ConfigLoader.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "framework/core/Errors.h"
#include "framework/core/Hash.h"

namespace ferlab::config {
namespace {

namespace fs = std::filesystem;
using Pairs = std::vector<std::pair<std::string, std::string>>;

ExperimentGrid parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parseExperiment(text, "exp.toml", overrides);
}

ResolvedRun single(const std::string& text, const std::vector<std::string>& overrides = {}) {
  ExperimentGrid experiment = parse(text, overrides);
  EXPECT_EQ(experiment.runs.size(), 1u);
  return experiment.runs.at(0);
}

/// The ConfigError message `action` throws; a test failure when it throws nothing.
template <typename Action>
std::string errorOf(Action action) {
  try {
    action();
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.exitCode(), 2);
    return error.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

std::string parseError(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return errorOf([&] { parse(text, overrides); });
}

bool startsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

std::string paramOf(const ResolvedRun& run, const std::string& key) {
  for (const auto& [name, value] : run.params) {
    if (name == key) return value;
  }
  ADD_FAILURE() << "no param " << key;
  return "";
}

/// A fresh folder under the test temp dir for tests that need files on disk.
fs::path freshDir(const std::string& name) {
  const fs::path dir = fs::path(testing::TempDir()) / ("ferlab_config_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void writeFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

/// The whole config, every key: the schema's canonical JSON of each.
void expectSameConfig(const RunConfig& a, const RunConfig& b) {
  EXPECT_EQ(resolvedJson(a), resolvedJson(b));
}

// --- defaults -----------------------------------------------------------------------------

TEST(ConfigDefaults, EmptyFileGivesRunConfigDefaults) {
  const ExperimentGrid experiment = parse("");
  EXPECT_EQ(experiment.name, "exp");
  EXPECT_EQ(experiment.source, "exp.toml");
  EXPECT_TRUE(experiment.grid_keys.empty());
  ASSERT_EQ(experiment.runs.size(), 1u);
  const ResolvedRun& run = experiment.runs[0];
  RunConfig expected;
  expected.experiment = "exp";  // the file's stem
  expectSameConfig(run.config, expected);
  EXPECT_EQ(run.name, "exp");
  EXPECT_EQ(run.index, 0);
  EXPECT_TRUE(run.grid_values.empty());
}

TEST(ConfigDefaults, DefaultTomlMatchesRunConfigAndResolvesLikeAnEmptyFile) {
  const ResolvedRun from_defaults = single(defaultConfigToml());
  expectSameConfig(from_defaults.config, RunConfig{});  // including name = "experiment"
  EXPECT_EQ(from_defaults.resolved_json, single("name = \"experiment\"").resolved_json);
}

TEST(ConfigDefaults, ParamsListEverySectionKeySorted) {
  const ResolvedRun run = single("");
  EXPECT_EQ(run.params.size(), 74u);  // the arrays are empty: no params of theirs
  EXPECT_TRUE(std::is_sorted(run.params.begin(), run.params.end()));
  EXPECT_EQ(run.params.front(), std::make_pair(std::string("augment.affine"), std::string("0.0")));
  EXPECT_EQ(paramOf(run, "train.lr"), "0.001");
  EXPECT_EQ(paramOf(run, "train.optimizer"), "adam");
  EXPECT_EQ(paramOf(run, "data.path"), "data/fer2013");
  EXPECT_EQ(paramOf(run, "model.batch_norm"), "false");
  EXPECT_EQ(paramOf(run, "data.subset"), "1.0");
  EXPECT_EQ(paramOf(run, "train.seed"), "0");
}

TEST(ConfigDefaults, ResolvedJsonIsCanonicalAndHashed) {
  const ResolvedRun run = single("description = \"a b\"");
  EXPECT_TRUE(startsWith(
      run.resolved_json,
      R"({"augment":{"affine":0.0,"brightness":0.0,"contrast":0.0,"crop_padding":0,)"
      R"("cutmix":0.0,"cutmix_alpha":1.0,)"
      R"("erase":0.0,"erase_area_max":0.33,"erase_area_min":0.02,"hflip":0.0,)"
      R"("jitter":0.0,"mixup":0.0,"mixup_alpha":0.2,"noise_std":0.0,"rotation":0.0,"scale_max":1.0,)"
      R"("scale_min":1.0,"shear":0.0,"translate":0.0},"balance":{"focal_gamma":2.0,"method":"none"},)"
      R"("data":{"align":"none","align_margin":0.2,"align_upsample":4,)"
      R"("cache_dir":"results/cache","cascade_dir":"","eval_subset":1.0,"format":"auto",)"
      R"("image_size":48,)"))
      << run.resolved_json;
  EXPECT_NE(run.resolved_json.find(
                R"("description":"a b","eval":{"batch_size":512,"crop_size":40,"tta":"none"},)"
                R"("model":{)"),
            std::string::npos);
  EXPECT_NE(run.resolved_json.find(R"(,"name":"exp","reference":{"claimed":0.0,)"),
            std::string::npos);
  EXPECT_NE(run.resolved_json.find(R"(},"train":{)"), std::string::npos);
  EXPECT_EQ(run.resolved_json.find('\n'), std::string::npos);
  EXPECT_EQ(run.config_hash.size(), 16u);  // over the identity keys: ConfigIdentityTest.cpp
}

TEST(ConfigDefaults, NameAndDescription) {
  const ResolvedRun run = single("name = \"baseline\"\ndescription = \"first try\"");
  EXPECT_EQ(run.config.experiment, "baseline");
  EXPECT_EQ(run.config.description, "first try");
  EXPECT_EQ(run.name, "baseline");
  EXPECT_EQ(parseExperiment("", "experiments/fer_vgg.toml").name, "fer_vgg");
  EXPECT_EQ(parseExperiment("", "").name, "experiment");
}

TEST(ConfigDefaults, IntegerAcceptedForFloat) {
  const ResolvedRun run = single("[train]\nlr = 1");
  EXPECT_EQ(run.config.train.lr, 1.0);
  EXPECT_EQ(run.resolved_json, single("[train]\nlr = 1.0").resolved_json);
  EXPECT_EQ(paramOf(run, "train.lr"), "1.0");
}

TEST(ConfigDefaults, AllSectionsRead) {
  const ResolvedRun run = single(R"(
[data]
path = "/d/fer2013.csv"
format = "csv"
image_size = 64
split_seed = 7
[model]
name = "vggnet"
num_classes = 8
[augment]
hflip = 0.5
crop_padding = 4
[balance]
method = "class_weights"
[train]
optimizer = "sgd"
nesterov = true
schedule = "plateau"
monitor = "val_loss"
device = "cuda:1"
seed = 42
precision = "bf16"
channels_last = true
[eval]
tta = "hflip"
batch_size = 256
)");
  EXPECT_EQ(run.config.data.path, "/d/fer2013.csv");
  EXPECT_EQ(run.config.data.format, DataFormat::Csv);
  EXPECT_EQ(run.config.data.image_size, 64);
  EXPECT_EQ(run.config.data.split_seed, 7);
  EXPECT_EQ(run.config.model.name, ModelName::VggNet);
  EXPECT_EQ(run.config.model.num_classes, 8);
  EXPECT_EQ(run.config.augment.hflip, 0.5);
  EXPECT_EQ(run.config.augment.crop_padding, 4);
  EXPECT_EQ(run.config.balance.method, BalanceMethod::ClassWeights);
  EXPECT_EQ(run.config.train.optimizer, Optimizer::Sgd);
  EXPECT_TRUE(run.config.train.nesterov);
  EXPECT_EQ(run.config.train.schedule, Schedule::Plateau);
  EXPECT_EQ(run.config.train.monitor, Monitor::ValLoss);
  EXPECT_EQ(run.config.train.device, "cuda:1");
  EXPECT_EQ(run.config.train.seed, 42);
  EXPECT_EQ(run.config.train.precision, Precision::Bf16);
  EXPECT_TRUE(run.config.train.channels_last);
  EXPECT_EQ(run.config.eval.tta, Tta::Hflip);
  EXPECT_EQ(run.config.eval.batch_size, 256);
}

// --- data.subset ---------------------------------------------------------------------------

TEST(ConfigSubset, FractionCountAndOne) {
  const ResolvedRun fraction = single("[data]\nsubset = 0.25");
  EXPECT_EQ(fraction.config.data.subset, 0.25);
  EXPECT_FALSE(fraction.config.data.subset_is_count);

  const ResolvedRun count = single("[data]\nsubset = 5000");
  EXPECT_EQ(count.config.data.subset, 5000.0);
  EXPECT_TRUE(count.config.data.subset_is_count);
  EXPECT_EQ(paramOf(count, "data.subset"), "5000");

  const ResolvedRun one = single("[data]\nsubset = 1");
  EXPECT_EQ(one.config.data.subset, 1.0);
  EXPECT_FALSE(one.config.data.subset_is_count);
  EXPECT_EQ(one.config_hash, single("").config_hash);
}

TEST(ConfigSubset, Errors) {
  const std::string expected = "expected a fraction in (0, 1] or an integer count >= 1, got ";
  EXPECT_EQ(parseError("[data]\nsubset = 0"), "exp.toml:2:10: data.subset: " + expected + "0");
  EXPECT_EQ(parseError("[data]\nsubset = 1.5"), "exp.toml:2:10: data.subset: " + expected + "1.5");
  EXPECT_EQ(parseError("[data]\nsubset = -0.1"),
            "exp.toml:2:10: data.subset: " + expected + "-0.1");
  EXPECT_EQ(parseError("[data]\nsubset = \"half\""),
            "exp.toml:2:10: data.subset: " + expected + "string");
}

// --- per-model defaults --------------------------------------------------------------------

TEST(ConfigModelDefaults, EachModelGetsItsOwn) {
  const ModelConfig simple = single("").config.model;
  EXPECT_FALSE(simple.batch_norm);
  EXPECT_EQ(simple.conv_dropout, 0.25);
  EXPECT_EQ(simple.fc_dropout, 0.5);

  const ModelConfig vgg = single("[model]\nname = \"vggnet\"").config.model;
  EXPECT_TRUE(vgg.batch_norm);
  EXPECT_EQ(vgg.conv_dropout, 0.0);
  EXPECT_EQ(vgg.fc_dropout, 0.2);

  const ModelConfig elu = single("[model]\nname = \"elu_cnn\"").config.model;
  EXPECT_TRUE(elu.batch_norm);
  EXPECT_EQ(elu.conv_dropout, 0.4);
  EXPECT_EQ(elu.fc_dropout, 0.5);
}

TEST(ConfigModelDefaults, UserValuesWin) {
  const ModelConfig vgg =
      single("[model]\nname = \"vggnet\"\nfc_dropout = 0.3\nbatch_norm = false").config.model;
  EXPECT_FALSE(vgg.batch_norm);
  EXPECT_EQ(vgg.conv_dropout, 0.0);  // still the vggnet default
  EXPECT_EQ(vgg.fc_dropout, 0.3);
}

TEST(ConfigModelDefaults, FollowTheFinalModelName) {
  const ModelConfig from_set =
      single("[model]\nname = \"vggnet\"", {"model.name=elu_cnn"}).config.model;
  EXPECT_EQ(from_set.name, ModelName::EluCnn);
  EXPECT_EQ(from_set.conv_dropout, 0.4);

  const ExperimentGrid grid = parse("[grid]\n\"model.name\" = [\"simple_cnn\", \"vggnet\"]");
  ASSERT_EQ(grid.runs.size(), 2u);
  EXPECT_FALSE(grid.runs[0].config.model.batch_norm);
  EXPECT_EQ(grid.runs[0].config.model.fc_dropout, 0.5);
  EXPECT_TRUE(grid.runs[1].config.model.batch_norm);
  EXPECT_EQ(grid.runs[1].config.model.fc_dropout, 0.2);
}

// --- ImageNet backbones: names and scalar keys ----------------------------------------------

TEST(ConfigBackbone, NamesAcceptedWithTheirDefaults) {
  for (const std::string name : {"vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "resnet18", "resnet50",
                                 "mobilenet_v2", "xception"}) {
    const ModelConfig model = single("[model]\nname = \"" + name + "\"").config.model;
    EXPECT_STREQ(choiceName(model.name), name.c_str());
    EXPECT_FALSE(model.batch_norm) << name;
    EXPECT_EQ(model.conv_dropout, 0.0) << name;
    EXPECT_EQ(model.fc_dropout, 0.0) << name;
  }
  EXPECT_EQ(single("", {"model.name=resnet50"}).config.model.name, ModelName::ResNet50);
}

TEST(ConfigBackbone, ScalarDefaultsAndValues) {
  const ModelConfig defaults = single("").config.model;
  EXPECT_EQ(defaults.weights, "");
  EXPECT_FALSE(defaults.strict_weights);
  EXPECT_EQ(defaults.input_size, 0);
  EXPECT_EQ(defaults.input_channels, InputChannels::Replicate);
  EXPECT_TRUE(defaults.head.empty());
  EXPECT_TRUE(single("").config.train.phases.empty());

  const ResolvedRun run = single(R"(
[model]
name = "resnet18"
weights = "weights/resnet18.pth"
strict_weights = true
input_size = 96
input_channels = "sum_conv1"
)");
  EXPECT_EQ(run.config.model.weights, "weights/resnet18.pth");  // kept as written
  EXPECT_TRUE(run.config.model.strict_weights);
  EXPECT_EQ(run.config.model.input_size, 96);
  EXPECT_EQ(run.config.model.input_channels, InputChannels::SumConv1);
  EXPECT_EQ(paramOf(run, "model.weights"), "weights/resnet18.pth");
  EXPECT_EQ(paramOf(run, "model.input_size"), "96");
}

// --- [[model.head]] ------------------------------------------------------------------------

const char* kHead = R"(
[model]
name = "resnet18"

[[model.head]]
units = 256
activation = "elu"
batch_norm = true
gaussian_noise = 0.1
dropout = 0.5

[[model.head]]
dropout = 0.25
)";

TEST(ConfigHead, TwoLayersParsedInOrderWithDefaults) {
  const ResolvedRun run = single(kHead);
  ASSERT_EQ(run.config.model.head.size(), 2u);
  const HeadLayerConfig& first = run.config.model.head[0];
  EXPECT_EQ(first.units, 256);
  EXPECT_EQ(first.activation, Activation::Elu);
  EXPECT_TRUE(first.batch_norm);
  EXPECT_EQ(first.gaussian_noise, 0.1);
  EXPECT_EQ(first.dropout, 0.5);
  HeadLayerConfig second;
  second.dropout = 0.25;
  RunConfig expected = run.config;
  expected.model.head[1] = second;
  expectSameConfig(run.config, expected);
}

TEST(ConfigHead, EntryDefaultsMatchTheStructs) {
  // The entry defaults are the structs' default initializers.
  const RunConfig config = single("[[model.head]]\n[[train.phases]]").config;
  ASSERT_EQ(config.model.head.size(), 1u);
  ASSERT_EQ(config.train.phases.size(), 1u);
  RunConfig expected = config;
  expected.model.head[0] = HeadLayerConfig{};
  expected.train.phases[0] = PhaseConfig{};
  expected.train.phases[0].name = "phase1";
  expectSameConfig(config, expected);
  EXPECT_EQ(config.train.epochs, 1);  // the sum of the phases
}

TEST(ConfigHead, DefaultTomlDocumentsBothArrays) {
  const std::string text = defaultConfigToml();
  for (const std::string line :
       {"# [[model.head]]\n", "# units = 128", "# activation = \"relu\"", "# dropout = 0.0",
        "# [[train.phases]]\n", "# trainable = [\"all\"]", "# lr_mult = 1.0", "# layer_decay = 1.0",
        "# train_frozen_bn = false"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

TEST(ConfigHead, InlineFormHashesTheSame) {
  const ResolvedRun inline_form = single(R"(
model.name = "resnet18"
model.head = [
  {units = 256, activation = "elu", batch_norm = true, gaussian_noise = 0.1, dropout = 0.5},
  {dropout = 0.25},
]
)");
  EXPECT_EQ(inline_form.config_hash, single(kHead).config_hash);
  EXPECT_EQ(single("[model]\nhead = []").config_hash, single("").config_hash);
}

TEST(ConfigHead, ResolvedJsonHoldsCompleteEntriesAndTheHashCoversThem) {
  const ResolvedRun run = single(kHead);
  EXPECT_NE(run.resolved_json.find(
                R"("head":[{"activation":"elu","batch_norm":true,"dropout":0.5,)"
                R"("gaussian_noise":0.1,"units":256},{"activation":"relu","batch_norm":false,)"
                R"("dropout":0.25,"gaussian_noise":0.0,"units":128}])"),
            std::string::npos)
      << run.resolved_json;
  EXPECT_NE(single("").resolved_json.find(R"("head":[])"), std::string::npos);
  EXPECT_NE(single("").resolved_json.find(R"("phases":[])"), std::string::npos);

  std::string changed = kHead;
  changed.replace(changed.find("dropout = 0.25"), 14, "dropout = 0.3");
  EXPECT_NE(single(changed).config_hash, run.config_hash);
  EXPECT_NE(single(std::string(kHead) + "[[model.head]]\n").config_hash, run.config_hash);
}

TEST(ConfigHead, ParamsFlattenPerEntry) {
  const ResolvedRun run = single(kHead);
  EXPECT_EQ(run.params.size(), 74u + 2 * 5);
  EXPECT_TRUE(std::is_sorted(run.params.begin(), run.params.end()));
  EXPECT_EQ(paramOf(run, "model.head[0].units"), "256");
  EXPECT_EQ(paramOf(run, "model.head[0].activation"), "elu");
  EXPECT_EQ(paramOf(run, "model.head[0].batch_norm"), "true");
  EXPECT_EQ(paramOf(run, "model.head[1].units"), "128");
  EXPECT_EQ(paramOf(run, "model.head[1].dropout"), "0.25");
  EXPECT_EQ(paramOf(run, "model.head[1].gaussian_noise"), "0.0");
}

TEST(ConfigHead, Errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[[model.head]]\nunits = 64\n[[model.head]]\nunitz = 32",
       "exp.toml:4:1: unknown key 'model.head[1].unitz' (did you mean 'model.head[1].units'?)"},
      {"[[model.head]]\nbogus = 1", "exp.toml:2:1: unknown key 'model.head[0].bogus'"},
      {"[[model.head]]\nactivation = \"tanh\"",
       "exp.toml:2:14: model.head[0].activation: expected one of relu, elu, gelu, none, got "
       "'tanh'"},
      {"[[model.head]]\nactivation = \"gelu\"\n[[model.head]]\nactivation = \"rel\"",
       "exp.toml:4:14: model.head[1].activation: expected one of relu, elu, gelu, none, got "
       "'rel' (did you mean 'relu'?)"},
      {"[[model.head]]\nunits = 0",
       "exp.toml:2:9: model.head[0].units: expected an integer >= 1, got 0"},
      {"[[model.head]]\nunits = 1.5",
       "exp.toml:2:9: model.head[0].units: expected an integer, got float"},
      {"[[model.head]]\ndropout = 1.0",
       "exp.toml:2:11: model.head[0].dropout: expected a float in [0, 1), got 1"},
      {"[[model.head]]\ngaussian_noise = -0.1",
       "exp.toml:2:18: model.head[0].gaussian_noise: expected a float >= 0, got -0.1"},
      {"[[model.head]]\nbatch_norm = 1",
       "exp.toml:2:14: model.head[0].batch_norm: expected a boolean, got integer"},
      {"[model.head]\nunits = 64",
       "exp.toml:1:1: model.head: expected an array of tables ([[model.head]]), got table"},
      {"[model]\nhead = 3",
       "exp.toml:2:8: model.head: expected an array of tables ([[model.head]]), got integer"},
      {"[model]\nhead = [{units = 8}, 3]",
       "exp.toml:2:22: model.head[1]: expected a table, got integer"},
      {"[[model.heads]]\nunits = 1",
       "exp.toml:1:9: unknown key 'model.heads' (did you mean 'model.head'?)"},
  };
  for (const auto& [text, message] : cases) EXPECT_EQ(parseError(text), message) << text;
}

// --- [[train.phases]] ----------------------------------------------------------------------

const std::string kPhases = R"(
[train]
lr = 0.01

[[train.phases]]
name = "head"
epochs = 3
trainable = "head"
optimizer = "adam"
lr = 0.001

[[train.phases]]
epochs = 5
trainable = ["layer4", "layer3+", "features.24", "head"]
lr_mult = 0.1
layer_decay = 0.8
train_frozen_bn = true
)";

/// kPhases with `train.epochs = epochs` on line 4.
std::string phasesWithEpochs(int epochs) {
  std::string text = kPhases;
  return text.insert(text.find("lr = 0.01\n") + 10, "epochs = " + std::to_string(epochs) + "\n");
}

TEST(ConfigPhases, ParsedWithInheritanceKeptAsDefaults) {
  const TrainConfig train = single(kPhases).config.train;
  ASSERT_EQ(train.phases.size(), 2u);
  const PhaseConfig& head = train.phases[0];
  EXPECT_EQ(head.name, "head");
  EXPECT_EQ(head.epochs, 3);
  EXPECT_EQ(head.trainable, std::vector<std::string>{"head"});  // a string is a list of one
  EXPECT_EQ(head.optimizer, Optimizer::Adam);
  EXPECT_EQ(head.lr, 0.001);
  EXPECT_EQ(head.lr_mult, 1.0);
  EXPECT_EQ(head.layer_decay, 1.0);
  EXPECT_FALSE(head.train_frozen_bn);

  const PhaseConfig& fine = train.phases[1];
  EXPECT_EQ(fine.name, "phase2");  // default name, counted from 1
  EXPECT_EQ(fine.epochs, 5);
  EXPECT_EQ(fine.trainable, (std::vector<std::string>{"layer4", "layer3+", "features.24", "head"}));
  EXPECT_FALSE(fine.optimizer.has_value());  // inherits train.optimizer: resolved later, not here
  EXPECT_EQ(fine.lr, 0.0);                   // inherits train.lr x lr_mult
  EXPECT_EQ(fine.lr_mult, 0.1);
  EXPECT_EQ(fine.layer_decay, 0.8);
  EXPECT_TRUE(fine.train_frozen_bn);
  EXPECT_EQ(train.lr, 0.01);
}

TEST(ConfigPhases, EpochsAreTheSum) {
  EXPECT_EQ(single(kPhases).config.train.epochs, 8);
  EXPECT_EQ(paramOf(single(kPhases), "train.epochs"), "8");
  // An explicit train.epochs equal to the sum is accepted, from the file or --set.
  EXPECT_EQ(single(phasesWithEpochs(8)).config.train.epochs, 8);
  EXPECT_EQ(single(kPhases, {"train.epochs=8"}).config.train.epochs, 8);
  EXPECT_EQ(single(phasesWithEpochs(8)).config_hash, single(kPhases).config_hash);
  // Without phases, train.epochs is as before.
  EXPECT_EQ(single("[train]\nepochs = 8\nphases = []").config.train.epochs, 8);
}

TEST(ConfigPhases, ResolvedJsonAndParams) {
  const ResolvedRun run = single(kPhases);
  EXPECT_NE(
      run.resolved_json.find(
          R"("phases":[{"epochs":3,"layer_decay":1.0,"lr":0.001,"lr_mult":1.0,)"
          R"("name":"head","optimizer":"adam","train_frozen_bn":false,"trainable":["head"]},)"),
      std::string::npos)
      << run.resolved_json;
  EXPECT_EQ(run.params.size(), 74u + 2 * 8);
  EXPECT_EQ(paramOf(run, "train.phases[0].name"), "head");
  EXPECT_EQ(paramOf(run, "train.phases[0].trainable"), R"(["head"])");
  EXPECT_EQ(paramOf(run, "train.phases[1].name"), "phase2");
  EXPECT_EQ(paramOf(run, "train.phases[1].lr_mult"), "0.1");
  EXPECT_EQ(paramOf(run, "train.phases[1].optimizer"), "");
  EXPECT_EQ(paramOf(run, "train.phases[1].trainable"),
            R"(["layer4","layer3+","features.24","head"])");
  std::string changed = kPhases;
  changed.replace(changed.find("lr_mult = 0.1"), 13, "lr_mult = 0.2");
  EXPECT_NE(single(changed).config_hash, run.config_hash);
}

TEST(ConfigPhases, Errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[[train.phases]]\nepochs = 0",
       "exp.toml:2:10: train.phases[0].epochs: expected an integer >= 1, got 0"},
      {"[[train.phases]]\n[[train.phases]]\nlr_mult = 0",
       "exp.toml:3:11: train.phases[1].lr_mult: expected a float > 0, got 0"},
      {"[[train.phases]]\nlr_mult = -1",
       "exp.toml:2:11: train.phases[0].lr_mult: expected a float > 0, got -1"},
      {"[[train.phases]]\nlayer_decay = 0",
       "exp.toml:2:15: train.phases[0].layer_decay: expected a float in (0, 1], got 0"},
      {"[[train.phases]]\nlayer_decay = 1.5",
       "exp.toml:2:15: train.phases[0].layer_decay: expected a float in (0, 1], got 1.5"},
      {"[[train.phases]]\nlr = -0.1",
       "exp.toml:2:6: train.phases[0].lr: expected a float >= 0, got -0.1"},
      {"[[train.phases]]\noptimizer = \"rmsprop\"",
       "exp.toml:2:13: train.phases[0].optimizer: expected one of \"\", sgd, adam, adamw, got "
       "'rmsprop'"},
      {"[[train.phases]]\ntrainable = 3",
       "exp.toml:2:13: train.phases[0].trainable: expected a string or a non-empty array of "
       "strings, got integer"},
      {"[[train.phases]]\ntrainable = [\"head\", 4]",
       "exp.toml:2:22: train.phases[0].trainable[1]: expected a string, got integer"},
      {"[[train.phases]]\ntrainable = []",
       "exp.toml:2:13: train.phases[0].trainable: expected a string or a non-empty array of "
       "strings, got an empty array"},
      {"[[train.phases]]\ntrainable = \"layer 4\"",
       "exp.toml:2:13: train.phases[0].trainable: expected all, head, none or a block name or "
       "prefix with an optional trailing '+' (\"layer3+\"), got 'layer 4'"},
      {"[[train.phases]]\ntrainable = [\"layer4\", \"head+\"]",
       "exp.toml:2:13: train.phases[0].trainable: expected all, head, none or a block name or "
       "prefix with an optional trailing '+' (\"layer3+\"), got 'head+'"},
      {"[[train.phases]]\ntrainable = \"layer4+:\"",
       "exp.toml:2:13: train.phases[0].trainable: expected all, head, none or a block name or "
       "prefix with an optional trailing '+' (\"layer3+\"), got 'layer4+:'"},
      {"[[train.phases]]\ntrainable = \".layer4\"",
       "exp.toml:2:13: train.phases[0].trainable: expected all, head, none or a block name or "
       "prefix with an optional trailing '+' (\"layer3+\"), got '.layer4'"},
      {"[[train.phases]]\ntrainable = [\"layer4\", \"layer4\"]",
       "exp.toml:2:13: train.phases[0].trainable: 'layer4' is listed twice"},
      {"[[train.phases]]\ntrainable = [\"none\", \"head\"]",
       "exp.toml:2:13: train.phases[0].trainable: 'none' must be the only entry, got "
       "[\"none\",\"head\"]"},
      {"[[train.phases]]\nepochs = 2\nepoch = 3",
       "exp.toml:3:1: unknown key 'train.phases[0].epoch' (did you mean "
       "'train.phases[0].epochs'?)"},
      {"[[train.phases]]\nname = \"a\"\n[[train.phases]]\nname = \"a\"",
       "exp.toml:4:8: train.phases[1].name: duplicate phase name 'a' (also train.phases[0])"},
      {"[[train.phases]]\nname = \"phase2\"\n[[train.phases]]",
       "exp.toml:3:1: train.phases[1].name: duplicate phase name 'phase2' (also "
       "train.phases[0])"},
      {"[[train.phases]]\nlr = 0.01\nlr_mult = 0.5",
       "exp.toml:3:11: train.phases[0].lr_mult: lr_mult scales train.lr and applies only when "
       "lr = 0; set lr or lr_mult, not both"},
      {"[[train.phases]]\nepochs = 2000000000\n[[train.phases]]\nepochs = 2000000000",
       "exp.toml:1:1: train.phases: the phases' epochs add up to 4000000000, more than "
       "2147483647"},
  };
  for (const auto& [text, message] : cases) EXPECT_EQ(parseError(text), message) << text;
  // The edges that are allowed.
  EXPECT_EQ(single("[[train.phases]]\nlayer_decay = 1").config.train.phases[0].layer_decay, 1.0);
  EXPECT_EQ(single("[[train.phases]]\ntrainable = \"none\"\n[[train.phases]]")
                .config.train.phases[0]
                .trainable,
            std::vector<std::string>{"none"});
  EXPECT_EQ(
      single("[[train.phases]]\ntrainable = \"features.24:\"").config.train.phases[0].trainable,
      std::vector<std::string>{"features.24:"});  // the seeds' notation for "features.24+"
  EXPECT_EQ(single("[[train.phases]]\nlr = 0.01\nlr_mult = 1").config.train.phases[0].lr, 0.01);
}

TEST(ConfigPhases, ConflictingTrainEpochs) {
  EXPECT_EQ(parseError(phasesWithEpochs(30)),
            "exp.toml:4:10: train.epochs: 30 differs from the sum of the train.phases epochs, 8; "
            "leave train.epochs unset when phases are given, or set it to 8");
  EXPECT_EQ(parseError(kPhases, {"train.epochs=2"}),
            "--set train.epochs: 2 differs from the sum of the train.phases epochs, 8; leave "
            "train.epochs unset when phases are given, or set it to 8");
  EXPECT_EQ(parseError(kPhases + "[grid]\n\"train.epochs\" = [8, 9]\n"),
            "exp.toml:19:22: train.epochs: 9 differs from the sum of the train.phases epochs, 8; "
            "leave train.epochs unset when phases are given, or set it to 8");
}

// --- arrays with includes, --set and the grid ----------------------------------------------

TEST(ConfigArrays, IncludingFileReplacesAnIncludedArray) {
  const fs::path dir = freshDir("include_arrays");
  writeFile(dir / "base.toml",
            "[model]\nname = \"resnet18\"\n[[model.head]]\nunits = 512\n[[model.head]]\n"
            "units = 256\n[[train.phases]]\nepochs = 2\n[[train.phases]]\nepochs = 3\n");
  writeFile(dir / "one.toml", "include = [\"base.toml\"]\n[[model.head]]\nunits = 64\n");
  const RunConfig one = loadExperiment((dir / "one.toml").string()).runs.at(0).config;
  ASSERT_EQ(one.model.head.size(), 1u);
  EXPECT_EQ(one.model.head[0].units, 64);
  EXPECT_EQ(one.train.phases.size(), 2u);  // not set here: the included phases stay
  EXPECT_EQ(one.train.epochs, 5);

  writeFile(dir / "none.toml",
            "include = [\"base.toml\"]\n[model]\nhead = []\n[train]\nphases = []\nepochs = 4\n");
  const RunConfig none = loadExperiment((dir / "none.toml").string()).runs.at(0).config;
  EXPECT_TRUE(none.model.head.empty());
  EXPECT_TRUE(none.train.phases.empty());
  EXPECT_EQ(none.train.epochs, 4);

  // An included train.epochs conflicts with phases like any other.
  writeFile(dir / "epochs.toml", "[train]\nepochs = 30\n");
  writeFile(dir / "conflict.toml", "include = [\"epochs.toml\", \"base.toml\"]\n");
  EXPECT_EQ(errorOf([&] { loadExperiment((dir / "conflict.toml").string()); }),
            (dir / "epochs.toml").string() +
                ":2:10: train.epochs: 30 differs from the sum of the train.phases epochs, 5; "
                "leave train.epochs unset when phases are given, or set it to 5");
}

TEST(ConfigArrays, ArraysWorkInAGridOverScalars) {
  const ExperimentGrid experiment = parse(std::string(kHead) +
                                          "[grid]\n\"model.name\" = "
                                          "[\"resnet18\", \"vgg16_bn\"]\n");
  ASSERT_EQ(experiment.runs.size(), 2u);
  for (const ResolvedRun& run : experiment.runs) EXPECT_EQ(run.config.model.head.size(), 2u);
  EXPECT_NE(experiment.runs[0].config_hash, experiment.runs[1].config_hash);
}

TEST(ConfigArrays, NotAGridKeyNorASetKey) {
  const std::string grid_message =
      "grid keys must be scalar keys, and model.head is an array of tables; write each "
      "[[model.head]] variant in its own experiment file (sharing the rest through include)";
  EXPECT_EQ(parseError("[grid]\n\"model.head\" = [[{units = 1}], [{units = 2}]]"),
            "exp.toml:2:1: grid key 'model.head': " + grid_message);
  EXPECT_EQ(parseError("[[grid.model.head]]\nunits = 1"),
            "exp.toml:1:14: grid key 'model.head': " + grid_message);
  EXPECT_EQ(parseError("[grid]\n\"model.head[0].units\" = [1, 2]"),
            "exp.toml:2:1: grid key 'model.head[0].units': " + grid_message);
  EXPECT_EQ(parseError("[grid]\n\"train.phases\" = [[]]"),
            "exp.toml:2:1: grid key 'train.phases': grid keys must be scalar keys, and "
            "train.phases is an array of tables; write each [[train.phases]] variant in its "
            "own experiment file (sharing the rest through include)");

  EXPECT_EQ(parseError("", {"model.head=[{units = 1}]"}),
            "--set model.head: model.head is an array of tables, which --set cannot change; "
            "edit the [[model.head]] tables in the experiment file");
  EXPECT_EQ(parseError("", {"train.phases[0].epochs=3"}),
            "--set train.phases[0].epochs: train.phases is an array of tables, which --set "
            "cannot change; edit the [[train.phases]] tables in the experiment file");
}

// --- includes ------------------------------------------------------------------------------

TEST(ConfigInclude, IncludedFirstIncludingFileWins) {
  const fs::path dir = freshDir("include");
  writeFile(dir / "configs/base.toml", "include = [\"train.toml\"]\n[model]\nname = \"vggnet\"\n");
  writeFile(dir / "configs/train.toml", "[train]\nlr = 0.01\nepochs = 5\n");
  writeFile(dir / "experiments/main.toml",
            "include = [\"../configs/base.toml\"]\n[train]\nepochs = 7\n");
  const ExperimentGrid experiment = loadExperiment((dir / "experiments/main.toml").string());
  EXPECT_EQ(experiment.name, "main");
  ASSERT_EQ(experiment.runs.size(), 1u);
  const RunConfig& config = experiment.runs[0].config;
  EXPECT_EQ(config.model.name, ModelName::VggNet);
  EXPECT_TRUE(config.model.batch_norm);  // model defaults still apply under included values
  EXPECT_EQ(config.train.lr, 0.01);
  EXPECT_EQ(config.train.epochs, 7);
}

TEST(ConfigInclude, GridFromIncludeAndReplacedAxis) {
  const fs::path dir = freshDir("include_grid");
  writeFile(dir / "grid.toml", "[grid]\n\"train.lr\" = [0.1, 0.2]\n\"train.seed\" = [1, 2]\n");
  writeFile(dir / "main.toml", "include = [\"grid.toml\"]\n[grid]\n\"train.seed\" = [3, 4, 5]\n");
  const ExperimentGrid experiment = loadExperiment((dir / "main.toml").string());
  EXPECT_EQ(experiment.grid_keys, (std::vector<std::string>{"train.lr", "train.seed"}));
  ASSERT_EQ(experiment.runs.size(), 6u);
  EXPECT_EQ(experiment.runs[2].config.train.seed, 5);
}

TEST(ConfigInclude, ErrorsNameTheIncludedFile) {
  const fs::path dir = freshDir("include_errors");
  writeFile(dir / "bad.toml", "[train]\nlr = \"fast\"\n");
  writeFile(dir / "main.toml", "include = [\"bad.toml\"]\n");
  const std::string bad = (dir / "bad.toml").string();
  EXPECT_EQ(errorOf([&] { loadExperiment((dir / "main.toml").string()); }),
            bad + ":2:6: train.lr: expected a float, got string");

  writeFile(dir / "syntax.toml", "[train\n");
  writeFile(dir / "main2.toml", "include = [\"syntax.toml\"]\n");
  EXPECT_TRUE(startsWith(errorOf([&] { loadExperiment((dir / "main2.toml").string()); }),
                         (dir / "syntax.toml").string() + ":1:"));
}

TEST(ConfigInclude, MissingFileCycleAndType) {
  const fs::path dir = freshDir("include_missing");
  const std::string main = (dir / "main.toml").string();
  writeFile(main, "include = [\"nope.toml\"]\n");
  EXPECT_EQ(errorOf([&] { loadExperiment(main); }), main + ":1:12: include: cannot read '" +
                                                        (dir / "nope.toml").string() +
                                                        "': No such file or directory");

  writeFile(dir / "a.toml", "include = [\"b.toml\"]\n");
  writeFile(dir / "b.toml", "include = [\"a.toml\"]\n");
  EXPECT_EQ(errorOf([&] { loadExperiment((dir / "a.toml").string()); }),
            (dir / "b.toml").string() + ":1:12: include: '" + (dir / "a.toml").string() +
                "' includes itself (include cycle)");

  EXPECT_EQ(parseError("include = \"base.toml\""),
            "exp.toml:1:11: include: expected an array of file paths, got string");
  EXPECT_EQ(parseError("include = [1]"),
            "exp.toml:1:12: include: expected an array of file paths, got integer");
}

// --- overrides -----------------------------------------------------------------------------

TEST(ConfigOverride, NumberStringBareStringBool) {
  const RunConfig config = single("[train]\nlr = 0.1\nepochs = 9",
                                  {"train.lr=0.01", "train.epochs = 3", "model.name=\"vggnet\"",
                                   "train.device=cuda:0", "train.nesterov=true", "name=quick"})
                               .config;
  EXPECT_EQ(config.train.lr, 0.01);
  EXPECT_EQ(config.train.epochs, 3);
  EXPECT_EQ(config.model.name, ModelName::VggNet);
  EXPECT_EQ(config.train.device, "cuda:0");
  EXPECT_TRUE(config.train.nesterov);
  EXPECT_EQ(config.experiment, "quick");

  EXPECT_EQ(single("", {"model.name=elu_cnn"}).config.model.name, ModelName::EluCnn);
  EXPECT_EQ(single("", {"data.subset=500"}).config.data.subset_is_count, true);
}

TEST(ConfigOverride, LaterOverrideWins) {
  EXPECT_EQ(single("", {"train.epochs=3", "train.epochs=4"}).config.train.epochs, 4);
}

TEST(ConfigOverride, FloatsHashTheSameFromFileAndFlag) {
  const std::string from_file = single("[train]\nlr = 0.002").resolved_json;
  EXPECT_EQ(single("", {"train.lr=0.002"}).resolved_json, from_file);
  EXPECT_EQ(single("", {"train.lr=2e-3"}).resolved_json, from_file);
  EXPECT_EQ(single("[train]\nlr = 0.001").config_hash, single("").config_hash);
  EXPECT_EQ(single("", {"train.lr=0.001"}).config_hash, single("").config_hash);
  EXPECT_NE(from_file.find(R"("lr":0.002)"), std::string::npos);
}

TEST(ConfigOverride, Errors) {
  EXPECT_EQ(parseError("", {"train.lr"}), "--set train.lr: expected key=value");
  EXPECT_EQ(parseError("", {"=3"}), "--set =3: expected key=value, the key is empty");
  EXPECT_EQ(parseError("", {"train.lrr=0.1"}),
            "--set train.lrr: unknown key 'train.lrr' (did you mean 'train.lr'?)");
  EXPECT_EQ(parseError("", {"train.lr=fast"}), "--set train.lr: expected a float, got string");
  EXPECT_EQ(parseError("", {"train.lr=[0.1, 0.2]"}), "--set train.lr: expected a float, got array");
  EXPECT_EQ(parseError("", {"train.epochs=0"}),
            "--set train.epochs: expected an integer >= 1, got 0");
  EXPECT_EQ(parseError("", {"train.optimizer=adma"}),
            "--set train.optimizer: expected one of sgd, adam, adamw, got 'adma' (did you mean "
            "'adam'?)");
  EXPECT_EQ(parseError("", {"data.path=\xff\xfe"}),
            "--set data.path: the value is not valid UTF-8");
  EXPECT_EQ(parseError("", {"grid.train.lr=[0.1]"}),
            "--set grid.train.lr: unknown key 'grid.train.lr'");
}

// --- grid ----------------------------------------------------------------------------------

const char* kGrid = R"(
[train]
lr = 0.3
[grid]
"train.lr" = [0.1, 0.01]
[grid.model]
name = ["simple_cnn", "vggnet", "elu_cnn"]
)";

TEST(ConfigGrid, CartesianProductFirstKeySlowest) {
  const ExperimentGrid experiment = parse(kGrid);
  EXPECT_EQ(experiment.grid_keys, (std::vector<std::string>{"train.lr", "model.name"}));
  ASSERT_EQ(experiment.runs.size(), 6u);
  const std::vector<std::string> names = {
      "exp[lr=0.1,name=simple_cnn]",  "exp[lr=0.1,name=vggnet]",  "exp[lr=0.1,name=elu_cnn]",
      "exp[lr=0.01,name=simple_cnn]", "exp[lr=0.01,name=vggnet]", "exp[lr=0.01,name=elu_cnn]"};
  std::set<std::string> hashes;
  for (int i = 0; i < 6; ++i) {
    const ResolvedRun& run = experiment.runs[i];
    EXPECT_EQ(run.index, i);
    EXPECT_EQ(run.name, names[i]);
    EXPECT_EQ(run.config.experiment, "exp");
    EXPECT_EQ(run.config.train.lr, i < 3 ? 0.1 : 0.01);  // the grid beats the file's 0.3
    hashes.insert(run.config_hash);
  }
  EXPECT_EQ(hashes.size(), 6u);
  EXPECT_EQ(experiment.runs[4].grid_values,
            (Pairs{{"train.lr", "0.01"}, {"model.name", "vggnet"}}));
  EXPECT_EQ(paramOf(experiment.runs[4], "model.name"), "vggnet");
}

TEST(ConfigGrid, OrderFollowsTheFileNotTheAlphabet) {
  const ExperimentGrid experiment =
      parse("[grid]\n\"train.seed\" = [1, 2]\n\"augment.hflip\" = [0, 0.5]\n");
  EXPECT_EQ(experiment.grid_keys, (std::vector<std::string>{"train.seed", "augment.hflip"}));
  ASSERT_EQ(experiment.runs.size(), 4u);
  EXPECT_EQ(experiment.runs[1].name, "exp[seed=1,hflip=0.5]");
  EXPECT_EQ(experiment.runs[0].name, "exp[seed=1,hflip=0.0]");  // integer 0 became a float
}

TEST(ConfigGrid, SharedLastComponentsUseFullKeys) {
  const ExperimentGrid experiment = parse(
      "[grid]\n\"train.batch_size\" = [32]\n\"eval.batch_size\" = [128]\n\"train.lr\" = [0.1]");
  ASSERT_EQ(experiment.runs.size(), 1u);
  EXPECT_EQ(experiment.runs[0].name, "exp[train.batch_size=32,eval.batch_size=128,lr=0.1]");
}

TEST(ConfigGrid, OverrideRemovesTheAxis) {
  const ExperimentGrid experiment = parse(kGrid, {"train.lr=0.5"});
  EXPECT_EQ(experiment.grid_keys, (std::vector<std::string>{"model.name"}));
  ASSERT_EQ(experiment.runs.size(), 3u);
  for (const ResolvedRun& run : experiment.runs) EXPECT_EQ(run.config.train.lr, 0.5);
  EXPECT_EQ(experiment.runs[1].name, "exp[name=vggnet]");
  EXPECT_EQ(experiment.runs[1].grid_values, (Pairs{{"model.name", "vggnet"}}));

  const ExperimentGrid pinned = parse(kGrid, {"train.lr=0.5", "model.name=vggnet"});
  EXPECT_TRUE(pinned.grid_keys.empty());
  ASSERT_EQ(pinned.runs.size(), 1u);
  EXPECT_EQ(pinned.runs[0].name, "exp");
  EXPECT_TRUE(pinned.runs[0].config.model.batch_norm);
}

TEST(ConfigGrid, OverrideOfAnotherKeyAppliesToEveryCell) {
  const ExperimentGrid experiment = parse(kGrid, {"train.epochs=2"});
  ASSERT_EQ(experiment.runs.size(), 6u);
  for (const ResolvedRun& run : experiment.runs) EXPECT_EQ(run.config.train.epochs, 2);
}

TEST(ConfigGrid, Errors) {
  EXPECT_EQ(parseError("[grid]\n\"train.lr\" = [0.1, \"x\"]"),
            "exp.toml:2:20: train.lr: expected a float, got string");
  EXPECT_EQ(parseError("[grid]\n\"train.epochs\" = [1, 0]"),
            "exp.toml:2:22: train.epochs: expected an integer >= 1, got 0");
  EXPECT_EQ(parseError("[grid]\n\"train.optimizer\" = [\"sgd\", \"rmsprop\"]"),
            "exp.toml:2:29: train.optimizer: expected one of sgd, adam, adamw, got 'rmsprop'");
  EXPECT_EQ(parseError("[grid.train]\nnesterov = [true, 1]"),
            "exp.toml:2:19: train.nesterov: expected a boolean, got integer");
  EXPECT_EQ(parseError("[grid]\n\"train.lr\" = 0.1"),
            "exp.toml:2:14: grid.train.lr: expected an array of values, got float");
  EXPECT_EQ(parseError("[grid]\n\"train.lr\" = []"),
            "exp.toml:2:14: grid.train.lr: expected a non-empty array of values");
  EXPECT_EQ(parseError("[grid]\n\"train.lr\" = [0.1, 0.1]"),
            "exp.toml:2:20: grid.train.lr: duplicate value 0.1");
  EXPECT_EQ(parseError("[grid]\n\"train.lrr\" = [0.1]"),
            "exp.toml:2:1: unknown grid key 'train.lrr' (did you mean 'train.lr'?)");
  EXPECT_EQ(parseError("[grid]\nlr = [0.1]"),
            "exp.toml:2:1: unknown grid key 'lr' (did you mean 'train.lr'?)");
  EXPECT_EQ(parseError("[grid]\nname = [\"a\", \"b\"]"),
            "exp.toml:2:1: unknown grid key 'name' (did you mean 'model.name'?)");
  EXPECT_EQ(parseError("grid = 3"), "exp.toml:1:1: grid: expected a table, got integer");
  EXPECT_EQ(parseError("[grid]\n\"train.lr\" = [0.1]\n[grid.train]\nlr = [0.2]"),
            "exp.toml:4:7: grid.train.lr: grid key given twice");
}

// Found by fuzzing (tests/fuzz/crashes/ConfigLoader/): a 300-byte grid of 30^4 cells took
// minutes and gigabytes before resolving its first run. The grid stops at 10,000 runs, at the
// axis that crosses the limit; a grid of exactly 10,000 is fine.
TEST(ConfigGrid, AtMostTenThousandRuns) {
  std::string values;
  for (int i = 1; i <= 100; ++i) values += (i > 1 ? ", " : "") + std::to_string(i);
  const std::string two_axes =
      "[grid]\n\"train.seed\" = [" + values + "]\n\"eval.batch_size\" = [" + values + "]\n";
  EXPECT_EQ(parse(two_axes).runs.size(), 10000u);
  EXPECT_EQ(parseError(two_axes + "\"train.epochs\" = [1, 2]\n"),
            "exp.toml:4:19: [grid]: more than 10000 runs (100 train.seed x 100 eval.batch_size x "
            "2 train.epochs...); split the experiment into several");
}

// --- hashing -------------------------------------------------------------------------------

TEST(ConfigHash, StableAcrossKeyOrderWhitespaceAndForm) {
  const ResolvedRun a = single("[train]\nlr = 0.01\nepochs = 5\n[model]\nname = \"vggnet\"\n");
  const ResolvedRun b = single(
      "# comment\n[model]\n  name   =   'vggnet'\n\n[train]\nepochs = 5   # five\nlr = 1e-2\n");
  const ResolvedRun c = single("model.name = \"vggnet\"\ntrain = { epochs = 5, lr = 0.01 }\n");
  EXPECT_EQ(a.resolved_json, b.resolved_json);
  EXPECT_EQ(a.config_hash, b.config_hash);
  EXPECT_EQ(a.config_hash, c.config_hash);
}

TEST(ConfigHash, ChangesWithAnyIdentityValue) {
  const std::string base = single("[train]\nlr = 0.01").config_hash;
  EXPECT_NE(single("[train]\nlr = 0.011").config_hash, base);
  EXPECT_NE(single("[train]\nlr = 0.01\nepochs = 31").config_hash, base);
  EXPECT_NE(single("[train]\nlr = 0.01\n[augment]\nhflip = 0.5").config_hash, base);
  EXPECT_NE(single("name = \"x\"\n[train]\nlr = 0.01").config_hash, base);
}

// --- errors in files -----------------------------------------------------------------------

TEST(ConfigErrors, UnknownKeyInEverySection) {
  for (const std::string section : {"data", "model", "augment", "balance", "train", "eval"}) {
    EXPECT_TRUE(startsWith(parseError("[" + section + "]\nbogus_key = 1\n"),
                           "exp.toml:2:1: unknown key '" + section + ".bogus_key'"))
        << section;
  }
  EXPECT_EQ(parseError("[train]\nepochs = 3\nlrr = 0.1"),
            "exp.toml:3:1: unknown key 'train.lrr' (did you mean 'train.lr'?)");
  EXPECT_EQ(parseError("[model]\nbatchnorm = true"),
            "exp.toml:2:1: unknown key 'model.batchnorm' (did you mean 'model.batch_norm'?)");
  EXPECT_EQ(parseError("[train.sub]\nx = 1"), "exp.toml:1:8: unknown key 'train.sub'");
}

TEST(ConfigErrors, UnknownTopLevelKey) {
  EXPECT_EQ(parseError("[trian]\nlr = 0.1"),
            "exp.toml:1:2: unknown key 'trian' (did you mean 'train'?)");
  EXPECT_EQ(parseError("name = \"x\"\nlr = 0.1"),
            "exp.toml:2:1: unknown key 'lr' (did you mean 'train.lr'?)");
  EXPECT_EQ(parseError("zzzzzzzz = 1"), "exp.toml:1:1: unknown key 'zzzzzzzz'");
}

TEST(ConfigErrors, FirstErrorInFileOrder) {
  EXPECT_EQ(parseError("[train]\nzeta = 1\nalpha = 2"), "exp.toml:2:1: unknown key 'train.zeta'");
}

TEST(ConfigErrors, WrongType) {
  EXPECT_EQ(parseError("[train]\nlr = \"fast\""),
            "exp.toml:2:6: train.lr: expected a float, got string");
  EXPECT_EQ(parseError("[train]\nepochs = 2.5"),
            "exp.toml:2:10: train.epochs: expected an integer, got float");
  EXPECT_EQ(parseError("[train]\nnesterov = 1"),
            "exp.toml:2:12: train.nesterov: expected a boolean, got integer");
  EXPECT_EQ(parseError("[train]\noptimizer = 1"),
            "exp.toml:2:13: train.optimizer: expected a string, got integer");
  EXPECT_EQ(parseError("[train]\nlr = [0.1]"),
            "exp.toml:2:6: train.lr: expected a float, got array");
  EXPECT_EQ(parseError("[data]\npath = 1979-05-27"),
            "exp.toml:2:8: data.path: expected a string, got date");
  EXPECT_EQ(parseError("name = 3"), "exp.toml:1:8: name: expected a string, got integer");
  EXPECT_EQ(parseError("train = 3"), "exp.toml:1:9: train: expected a table, got integer");
}

TEST(ConfigErrors, OutOfRange) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[train]\nepochs = 0", "exp.toml:2:10: train.epochs: expected an integer >= 1, got 0"},
      {"[train]\nbatch_size = 0",
       "exp.toml:2:14: train.batch_size: expected an integer >= 1, got 0"},
      {"[train]\nepochs = 3000000000",
       "exp.toml:2:10: train.epochs: expected an integer in [1, 2147483647], got 3000000000"},
      {"[train]\nlr = 0", "exp.toml:2:6: train.lr: expected a float > 0, got 0"},
      {"[train]\nlr = -0.1", "exp.toml:2:6: train.lr: expected a float > 0, got -0.1"},
      {"[train]\nlr = inf", "exp.toml:2:6: train.lr: expected a finite float, got inf"},
      {"[train]\nlr = nan", "exp.toml:2:6: train.lr: expected a finite float, got nan"},
      {"[train]\nmomentum = 1.0",
       "exp.toml:2:12: train.momentum: expected a float in [0, 1), got 1"},
      {"[train]\nweight_decay = -1",
       "exp.toml:2:16: train.weight_decay: expected a float >= 0, got -1"},
      {"[train]\ngamma = 0", "exp.toml:2:9: train.gamma: expected a float in (0, 1], got 0"},
      {"[train]\nstep_size = 0", "exp.toml:2:13: train.step_size: expected an integer >= 1, got 0"},
      {"[train]\nplateau_patience = -1",
       "exp.toml:2:20: train.plateau_patience: expected an integer >= 0, got -1"},
      {"[train]\nmin_lr = -1", "exp.toml:2:10: train.min_lr: expected a float >= 0, got -1"},
      {"[train]\nearly_stopping = -1",
       "exp.toml:2:18: train.early_stopping: expected an integer >= 0, got -1"},
      {"[train]\nlabel_smoothing = 1",
       "exp.toml:2:19: train.label_smoothing: expected a float in [0, 1), got 1"},
      {"[train]\ngrad_clip = -0.5",
       "exp.toml:2:13: train.grad_clip: expected a float >= 0, got -0.5"},
      {"[train]\nseed = -1", "exp.toml:2:8: train.seed: expected an integer >= 0, got -1"},
      {"[train]\nthreads = -1", "exp.toml:2:11: train.threads: expected an integer >= 0, got -1"},
      {"[model]\nconv_dropout = 1.0",
       "exp.toml:2:16: model.conv_dropout: expected a float in [0, 1), got 1"},
      {"[model]\nfc_dropout = -0.1",
       "exp.toml:2:14: model.fc_dropout: expected a float in [0, 1), got -0.1"},
      {"[model]\nnum_classes = 1",
       "exp.toml:2:15: model.num_classes: expected an integer >= 2, got 1"},
      {"[augment]\nhflip = 1.5",
       "exp.toml:2:9: augment.hflip: expected a float in [0, 1], got 1.5"},
      {"[augment]\ncrop_padding = -1",
       "exp.toml:2:16: augment.crop_padding: expected an integer >= 0, got -1"},
      {"[augment]\naffine = 1.5",
       "exp.toml:2:10: augment.affine: expected a float in [0, 1], got 1.5"},
      {"[augment]\nrotation = 181",
       "exp.toml:2:12: augment.rotation: expected a float in [0, 180], got 181"},
      {"[augment]\nshear = -1",
       "exp.toml:2:9: augment.shear: expected a float in [0, 180], got -1"},
      {"[augment]\ntranslate = 1",
       "exp.toml:2:13: augment.translate: expected a float in [0, 1), got 1"},
      {"[augment]\nscale_min = 0", "exp.toml:2:13: augment.scale_min: expected a float > 0, got 0"},
      {"[augment]\nscale_min = 1.2",
       "exp.toml:2:13: augment.scale_min: augment.scale_min must be <= augment.scale_max, got 1.2 "
       "> 1"},
      {"[augment]\nbrightness = 2",
       "exp.toml:2:14: augment.brightness: expected a float in [0, 1], got 2"},
      {"[augment]\ncontrast = -0.1",
       "exp.toml:2:12: augment.contrast: expected a float in [0, 1], got -0.1"},
      {"[augment]\njitter = 2", "exp.toml:2:10: augment.jitter: expected a float in [0, 1], got 2"},
      {"[augment]\nerase = -1", "exp.toml:2:9: augment.erase: expected a float in [0, 1], got -1"},
      {"[augment]\nerase_area_min = 0",
       "exp.toml:2:18: augment.erase_area_min: expected a float in (0, 1), got 0"},
      {"[augment]\nerase_area_max = 1",
       "exp.toml:2:18: augment.erase_area_max: expected a float in (0, 1), got 1"},
      {"[augment]\nerase_area_max = 0.01",
       "exp.toml:2:18: augment.erase_area_max: augment.erase_area_min must be <= "
       "augment.erase_area_max, got 0.02 > 0.01"},
      {"[augment]\nnoise_std = -0.1",
       "exp.toml:2:13: augment.noise_std: expected a float >= 0, got -0.1"},
      {"[data]\nimage_size = 4", "exp.toml:2:14: data.image_size: expected an integer >= 8, got 4"},
      {"[data]\nval_fraction = 1.0",
       "exp.toml:2:16: data.val_fraction: expected a float in [0, 1), got 1"},
      {"[data]\ntest_fraction = -0.1",
       "exp.toml:2:17: data.test_fraction: expected a float in [0, 1), got -0.1"},
      {"[data]\npath = \"\"", "exp.toml:2:8: data.path: expected a non-empty string"},
      {"[eval]\nbatch_size = 0", "exp.toml:2:14: eval.batch_size: expected an integer >= 1, got 0"},
      {"[model]\ninput_size = 16",
       "exp.toml:2:14: model.input_size: expected 0 or an integer >= 32, got 16"},
      {"[model]\ninput_size = -1",
       "exp.toml:2:14: model.input_size: expected 0 or an integer >= 32, got -1"},
      {"[model]\ninput_size = 3000000000",
       "exp.toml:2:14: model.input_size: expected 0 or an integer in [32, 2147483647], got "
       "3000000000"},
      {"name = \"a/b\"",
       "exp.toml:1:8: name: expected a non-empty name without '/' or '\\', got 'a/b'"},
  };
  for (const auto& [text, message] : cases) EXPECT_EQ(parseError(text), message) << text;
  // The edges that are allowed.
  EXPECT_EQ(single("[augment]\nhflip = 1").config.augment.hflip, 1.0);
  EXPECT_EQ(single("[train]\ngamma = 1").config.train.gamma, 1.0);
  EXPECT_EQ(single("[data]\nimage_size = 8").config.data.image_size, 8);
  EXPECT_EQ(single("[model]\ninput_size = 32").config.model.input_size, 32);
  EXPECT_EQ(single("[model]\ninput_size = 0").config.model.input_size, 0);
}

TEST(ConfigErrors, BadEnum) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[train]\noptimizer = \"adma\"",
       "exp.toml:2:13: train.optimizer: expected one of sgd, adam, adamw, got 'adma' (did you "
       "mean 'adam'?)"},
      {"[train]\nschedule = \"linear\"",
       "exp.toml:2:12: train.schedule: expected one of none, step, cosine, plateau, onecycle, got "
       "'linear'"},
      {"[train]\nmonitor = \"val_acc\"",
       "exp.toml:2:11: train.monitor: expected one of val_accuracy, val_macro_f1, val_loss, got "
       "'val_acc'"},
      {"[model]\nname = \"resnet\"",
       "exp.toml:2:8: model.name: expected one of simple_cnn, vggnet, elu_cnn, fast_cnn, vgg16, "
       "vgg16_bn, "
       "vgg19, vgg19_bn, resnet18, resnet50, mobilenet_v2, xception, got 'resnet' (did you mean "
       "'resnet18'?)"},
      {"[model]\ninput_channels = \"rgb\"",
       "exp.toml:2:18: model.input_channels: expected one of replicate, sum_conv1, got 'rgb'"},
      {"[data]\nformat = \"json\"",
       "exp.toml:2:10: data.format: expected one of auto, folder, csv, got 'json'"},
      {"[balance]\nmethod = \"smote\"",
       "exp.toml:2:10: balance.method: expected one of none, oversample, undersample, "
       "class_weights, weighted_sampler, focal, got 'smote'"},
      {"[balance]\nfocal_gamma = -1.0",
       "exp.toml:2:15: balance.focal_gamma: expected a float >= 0, got -1"},
      {"[eval]\ntta = \"crops\"",
       "exp.toml:2:7: eval.tta: expected one of none, hflip, ten_crop, got 'crops'"},
      {"[train]\ndevice = \"gpu\"",
       "exp.toml:2:10: train.device: expected auto, cpu, cuda or cuda:N, got 'gpu'"},
      {"[train]\ndevice = \"cuda:\"",
       "exp.toml:2:10: train.device: expected auto, cpu, cuda or cuda:N, got 'cuda:'"},
      {"[train]\nprecision = \"half\"",
       "exp.toml:2:13: train.precision: expected one of fp32, bf16, fp16, got 'half'"},
      {"[train]\nchannels_last = 1",
       "exp.toml:2:17: train.channels_last: expected a boolean, got integer"},
      {"[train]\ndevice = \"cuda:x\"",
       "exp.toml:2:10: train.device: expected auto, cpu, cuda or cuda:N, got 'cuda:x'"},
      {"[tracking]\nmlflow_uri = \"file:///tmp/mlruns\"",
       "exp.toml:2:14: tracking.mlflow_uri: expected \"\" or an http:// or https:// URI, got "
       "'file:///tmp/mlruns'"},
  };
  for (const auto& [text, message] : cases) EXPECT_EQ(parseError(text), message) << text;
}

TEST(ConfigErrors, CombinedRules) {
  EXPECT_EQ(parseError("[data]\nval_fraction = 0.5\ntest_fraction = 0.5"),
            "exp.toml:3:17: data.test_fraction: data.val_fraction + data.test_fraction must be "
            "below 1, got 0.5 + 0.5");
  EXPECT_EQ(parseError("[data]\nval_fraction = 0.95"),
            "exp.toml:2:16: data.val_fraction: data.val_fraction + data.test_fraction must be "
            "below 1, got 0.95 + 0.1");
  EXPECT_EQ(parseError("[train]\noptimizer = \"sgd\"\nnesterov = true\nmomentum = 0.0"),
            "exp.toml:3:12: train.nesterov: nesterov momentum needs train.momentum > 0");
  // Nesterov is an SGD option: ignored, not an error, for Adam.
  EXPECT_TRUE(single("[train]\nnesterov = true\nmomentum = 0.0").config.train.nesterov);
}

TEST(ConfigErrors, TomlSyntax) {
  EXPECT_TRUE(startsWith(parseError("[train]\nlr = = 1"), "exp.toml:2:6: TOML syntax error: "))
      << parseError("[train]\nlr = = 1");
  EXPECT_TRUE(startsWith(parseError("[train]\nlr = 0.1\nlr = 0.2"), "exp.toml:3:"));
}

TEST(ConfigErrors, UnreadableFile) {
  EXPECT_EQ(errorOf([] { loadExperiment("/nonexistent/ferlab/x.toml"); }),
            "/nonexistent/ferlab/x.toml: cannot read file: No such file or directory");
  const fs::path dir = freshDir("unreadable");
  EXPECT_EQ(errorOf([&] { loadExperiment(dir.string()); }),
            dir.string() + ": cannot read file: is a directory");
}

}  // namespace
}  // namespace ferlab::config
