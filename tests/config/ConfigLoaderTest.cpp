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

Experiment parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parseExperiment(text, "exp.toml", overrides);
}

ResolvedRun single(const std::string& text, const std::vector<std::string>& overrides = {}) {
  Experiment experiment = parse(text, overrides);
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

void expectSameConfig(const RunConfig& a, const RunConfig& b) {
  EXPECT_EQ(a.experiment, b.experiment);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.data.path, b.data.path);
  EXPECT_EQ(a.data.format, b.data.format);
  EXPECT_EQ(a.data.cache_dir, b.data.cache_dir);
  EXPECT_EQ(a.data.image_size, b.data.image_size);
  EXPECT_EQ(a.data.subset, b.data.subset);
  EXPECT_EQ(a.data.subset_is_count, b.data.subset_is_count);
  EXPECT_EQ(a.data.val_fraction, b.data.val_fraction);
  EXPECT_EQ(a.data.test_fraction, b.data.test_fraction);
  EXPECT_EQ(a.data.split_seed, b.data.split_seed);
  EXPECT_EQ(a.model.name, b.model.name);
  EXPECT_EQ(a.model.num_classes, b.model.num_classes);
  EXPECT_EQ(a.model.batch_norm, b.model.batch_norm);
  EXPECT_EQ(a.model.conv_dropout, b.model.conv_dropout);
  EXPECT_EQ(a.model.fc_dropout, b.model.fc_dropout);
  EXPECT_EQ(a.augment.hflip, b.augment.hflip);
  EXPECT_EQ(a.augment.crop_padding, b.augment.crop_padding);
  EXPECT_EQ(a.balance.method, b.balance.method);
  EXPECT_EQ(a.train.epochs, b.train.epochs);
  EXPECT_EQ(a.train.batch_size, b.train.batch_size);
  EXPECT_EQ(a.train.optimizer, b.train.optimizer);
  EXPECT_EQ(a.train.lr, b.train.lr);
  EXPECT_EQ(a.train.momentum, b.train.momentum);
  EXPECT_EQ(a.train.nesterov, b.train.nesterov);
  EXPECT_EQ(a.train.weight_decay, b.train.weight_decay);
  EXPECT_EQ(a.train.schedule, b.train.schedule);
  EXPECT_EQ(a.train.step_size, b.train.step_size);
  EXPECT_EQ(a.train.gamma, b.train.gamma);
  EXPECT_EQ(a.train.plateau_patience, b.train.plateau_patience);
  EXPECT_EQ(a.train.min_lr, b.train.min_lr);
  EXPECT_EQ(a.train.monitor, b.train.monitor);
  EXPECT_EQ(a.train.early_stopping, b.train.early_stopping);
  EXPECT_EQ(a.train.label_smoothing, b.train.label_smoothing);
  EXPECT_EQ(a.train.grad_clip, b.train.grad_clip);
  EXPECT_EQ(a.train.seed, b.train.seed);
  EXPECT_EQ(a.train.device, b.train.device);
  EXPECT_EQ(a.train.threads, b.train.threads);
  EXPECT_EQ(a.eval.batch_size, b.eval.batch_size);
  EXPECT_EQ(a.eval.tta, b.eval.tta);
}

// --- defaults -----------------------------------------------------------------------------

TEST(ConfigDefaults, EmptyFileGivesRunConfigDefaults) {
  const Experiment experiment = parse("");
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
  EXPECT_EQ(run.params.size(), 37u);
  EXPECT_TRUE(std::is_sorted(run.params.begin(), run.params.end()));
  EXPECT_EQ(run.params.front(),
            std::make_pair(std::string("augment.crop_padding"), std::string("0")));
  EXPECT_EQ(paramOf(run, "train.lr"), "0.001");
  EXPECT_EQ(paramOf(run, "train.optimizer"), "adam");
  EXPECT_EQ(paramOf(run, "data.path"), "data/fer2013");
  EXPECT_EQ(paramOf(run, "model.batch_norm"), "false");
  EXPECT_EQ(paramOf(run, "data.subset"), "1.0");
  EXPECT_EQ(paramOf(run, "train.seed"), "0");
}

TEST(ConfigDefaults, ResolvedJsonIsCanonicalAndHashed) {
  const ResolvedRun run = single("description = \"a b\"");
  EXPECT_TRUE(startsWith(run.resolved_json,
                         R"({"augment":{"crop_padding":0,"hflip":0.0},"balance":{"method":"none"},)"
                         R"("data":{"cache_dir":"results/cache","format":"auto","image_size":48,)"))
      << run.resolved_json;
  EXPECT_NE(run.resolved_json.find(R"("description":"a b","eval":{"batch_size":512,"tta":"none"},)"
                                   R"("model":{)"),
            std::string::npos);
  EXPECT_NE(run.resolved_json.find(R"(,"name":"exp","train":{)"), std::string::npos);
  EXPECT_EQ(run.resolved_json.find('\n'), std::string::npos);
  EXPECT_EQ(run.config_hash, core::hashHex(run.resolved_json));
  EXPECT_EQ(run.config_hash.size(), 16u);
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
[eval]
tta = "hflip"
batch_size = 256
)");
  EXPECT_EQ(run.config.data.path, "/d/fer2013.csv");
  EXPECT_EQ(run.config.data.format, "csv");
  EXPECT_EQ(run.config.data.image_size, 64);
  EXPECT_EQ(run.config.data.split_seed, 7);
  EXPECT_EQ(run.config.model.name, "vggnet");
  EXPECT_EQ(run.config.model.num_classes, 8);
  EXPECT_EQ(run.config.augment.hflip, 0.5);
  EXPECT_EQ(run.config.augment.crop_padding, 4);
  EXPECT_EQ(run.config.balance.method, "class_weights");
  EXPECT_EQ(run.config.train.optimizer, "sgd");
  EXPECT_TRUE(run.config.train.nesterov);
  EXPECT_EQ(run.config.train.schedule, "plateau");
  EXPECT_EQ(run.config.train.monitor, "val_loss");
  EXPECT_EQ(run.config.train.device, "cuda:1");
  EXPECT_EQ(run.config.train.seed, 42);
  EXPECT_EQ(run.config.eval.tta, "hflip");
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
  EXPECT_EQ(from_set.name, "elu_cnn");
  EXPECT_EQ(from_set.conv_dropout, 0.4);

  const Experiment grid = parse("[grid]\n\"model.name\" = [\"simple_cnn\", \"vggnet\"]");
  ASSERT_EQ(grid.runs.size(), 2u);
  EXPECT_FALSE(grid.runs[0].config.model.batch_norm);
  EXPECT_EQ(grid.runs[0].config.model.fc_dropout, 0.5);
  EXPECT_TRUE(grid.runs[1].config.model.batch_norm);
  EXPECT_EQ(grid.runs[1].config.model.fc_dropout, 0.2);
}

// --- includes ------------------------------------------------------------------------------

TEST(ConfigInclude, IncludedFirstIncludingFileWins) {
  const fs::path dir = freshDir("include");
  writeFile(dir / "configs/base.toml", "include = [\"train.toml\"]\n[model]\nname = \"vggnet\"\n");
  writeFile(dir / "configs/train.toml", "[train]\nlr = 0.01\nepochs = 5\n");
  writeFile(dir / "experiments/main.toml",
            "include = [\"../configs/base.toml\"]\n[train]\nepochs = 7\n");
  const Experiment experiment = loadExperiment((dir / "experiments/main.toml").string());
  EXPECT_EQ(experiment.name, "main");
  ASSERT_EQ(experiment.runs.size(), 1u);
  const RunConfig& config = experiment.runs[0].config;
  EXPECT_EQ(config.model.name, "vggnet");
  EXPECT_TRUE(config.model.batch_norm);  // model defaults still apply under included values
  EXPECT_EQ(config.train.lr, 0.01);
  EXPECT_EQ(config.train.epochs, 7);
}

TEST(ConfigInclude, GridFromIncludeAndReplacedAxis) {
  const fs::path dir = freshDir("include_grid");
  writeFile(dir / "grid.toml", "[grid]\n\"train.lr\" = [0.1, 0.2]\n\"train.seed\" = [1, 2]\n");
  writeFile(dir / "main.toml", "include = [\"grid.toml\"]\n[grid]\n\"train.seed\" = [3, 4, 5]\n");
  const Experiment experiment = loadExperiment((dir / "main.toml").string());
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
  EXPECT_EQ(config.model.name, "vggnet");
  EXPECT_EQ(config.train.device, "cuda:0");
  EXPECT_TRUE(config.train.nesterov);
  EXPECT_EQ(config.experiment, "quick");

  EXPECT_EQ(single("", {"model.name=elu_cnn"}).config.model.name, "elu_cnn");
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
  const Experiment experiment = parse(kGrid);
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
  const Experiment experiment =
      parse("[grid]\n\"train.seed\" = [1, 2]\n\"augment.hflip\" = [0, 0.5]\n");
  EXPECT_EQ(experiment.grid_keys, (std::vector<std::string>{"train.seed", "augment.hflip"}));
  ASSERT_EQ(experiment.runs.size(), 4u);
  EXPECT_EQ(experiment.runs[1].name, "exp[seed=1,hflip=0.5]");
  EXPECT_EQ(experiment.runs[0].name, "exp[seed=1,hflip=0.0]");  // integer 0 became a float
}

TEST(ConfigGrid, SharedLastComponentsUseFullKeys) {
  const Experiment experiment = parse(
      "[grid]\n\"train.batch_size\" = [32]\n\"eval.batch_size\" = [128]\n\"train.lr\" = [0.1]");
  ASSERT_EQ(experiment.runs.size(), 1u);
  EXPECT_EQ(experiment.runs[0].name, "exp[train.batch_size=32,eval.batch_size=128,lr=0.1]");
}

TEST(ConfigGrid, OverrideRemovesTheAxis) {
  const Experiment experiment = parse(kGrid, {"train.lr=0.5"});
  EXPECT_EQ(experiment.grid_keys, (std::vector<std::string>{"model.name"}));
  ASSERT_EQ(experiment.runs.size(), 3u);
  for (const ResolvedRun& run : experiment.runs) EXPECT_EQ(run.config.train.lr, 0.5);
  EXPECT_EQ(experiment.runs[1].name, "exp[name=vggnet]");
  EXPECT_EQ(experiment.runs[1].grid_values, (Pairs{{"model.name", "vggnet"}}));

  const Experiment pinned = parse(kGrid, {"train.lr=0.5", "model.name=vggnet"});
  EXPECT_TRUE(pinned.grid_keys.empty());
  ASSERT_EQ(pinned.runs.size(), 1u);
  EXPECT_EQ(pinned.runs[0].name, "exp");
  EXPECT_TRUE(pinned.runs[0].config.model.batch_norm);
}

TEST(ConfigGrid, OverrideOfAnotherKeyAppliesToEveryCell) {
  const Experiment experiment = parse(kGrid, {"train.epochs=2"});
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

TEST(ConfigHash, ChangesWithAnyValue) {
  const std::string base = single("[train]\nlr = 0.01").config_hash;
  EXPECT_NE(single("[train]\nlr = 0.011").config_hash, base);
  EXPECT_NE(single("[train]\nlr = 0.01\nepochs = 31").config_hash, base);
  EXPECT_NE(single("[train]\nlr = 0.01\n[augment]\nhflip = 0.5").config_hash, base);
  EXPECT_NE(single("description = \"x\"\n[train]\nlr = 0.01").config_hash, base);
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
      {"[data]\nimage_size = 4", "exp.toml:2:14: data.image_size: expected an integer >= 8, got 4"},
      {"[data]\nval_fraction = 1.0",
       "exp.toml:2:16: data.val_fraction: expected a float in [0, 1), got 1"},
      {"[data]\ntest_fraction = -0.1",
       "exp.toml:2:17: data.test_fraction: expected a float in [0, 1), got -0.1"},
      {"[data]\npath = \"\"", "exp.toml:2:8: data.path: expected a non-empty string"},
      {"[eval]\nbatch_size = 0", "exp.toml:2:14: eval.batch_size: expected an integer >= 1, got 0"},
      {"name = \"a/b\"",
       "exp.toml:1:8: name: expected a non-empty name without '/' or '\\', got 'a/b'"},
  };
  for (const auto& [text, message] : cases) EXPECT_EQ(parseError(text), message) << text;
  // The edges that are allowed.
  EXPECT_EQ(single("[augment]\nhflip = 1").config.augment.hflip, 1.0);
  EXPECT_EQ(single("[train]\ngamma = 1").config.train.gamma, 1.0);
  EXPECT_EQ(single("[data]\nimage_size = 8").config.data.image_size, 8);
}

TEST(ConfigErrors, BadEnum) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[train]\noptimizer = \"adma\"",
       "exp.toml:2:13: train.optimizer: expected one of sgd, adam, adamw, got 'adma' (did you "
       "mean 'adam'?)"},
      {"[train]\nschedule = \"linear\"",
       "exp.toml:2:12: train.schedule: expected one of none, step, cosine, plateau, got 'linear'"},
      {"[train]\nmonitor = \"val_acc\"",
       "exp.toml:2:11: train.monitor: expected one of val_accuracy, val_macro_f1, val_loss, got "
       "'val_acc'"},
      {"[model]\nname = \"resnet\"",
       "exp.toml:2:8: model.name: expected one of simple_cnn, vggnet, elu_cnn, got 'resnet'"},
      {"[data]\nformat = \"json\"",
       "exp.toml:2:10: data.format: expected one of auto, folder, csv, got 'json'"},
      {"[balance]\nmethod = \"oversample\"",
       "exp.toml:2:10: balance.method: expected one of none, class_weights, got 'oversample'"},
      {"[eval]\ntta = \"crops\"",
       "exp.toml:2:7: eval.tta: expected one of none, hflip, got 'crops'"},
      {"[train]\ndevice = \"gpu\"",
       "exp.toml:2:10: train.device: expected auto, cpu, cuda or cuda:N, got 'gpu'"},
      {"[train]\ndevice = \"cuda:\"",
       "exp.toml:2:10: train.device: expected auto, cpu, cuda or cuda:N, got 'cuda:'"},
      {"[train]\ndevice = \"cuda:x\"",
       "exp.toml:2:10: train.device: expected auto, cpu, cuda or cuda:N, got 'cuda:x'"},
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
