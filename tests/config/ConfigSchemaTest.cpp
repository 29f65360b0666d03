// The config schema as a whole: every choice key round-trips through its enum, execution keys
// stay out of the run identity, and README's config reference is the generated one.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"

namespace ferlab::config {
namespace {

using nlohmann::json;

ResolvedRun single(const std::string& text, const std::vector<std::string>& overrides = {}) {
  ExperimentGrid grid = parseExperiment(text, "exp.toml", overrides);
  EXPECT_EQ(grid.runs.size(), 1u);
  return grid.runs.at(0);
}

std::string errorOf(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parseExperiment(text, "exp.toml", overrides);
  } catch (const ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a ConfigError for " << text;
  return "";
}

/// Every (key, allowed words) of the choice keys, read from the default TOML's comments is
/// what a user sees; here they come from the enums themselves.
struct ChoiceKey {
  std::string key;
  std::vector<std::string> names;
};

std::vector<ChoiceKey> choiceKeys() {
  return {
      {"data.format", choiceNames<DataFormat>()},
      {"data.align", choiceNames<Align>()},
      {"model.name", choiceNames<ModelName>()},
      {"model.input_channels", choiceNames<InputChannels>()},
      {"balance.method", choiceNames<BalanceMethod>()},
      {"train.optimizer", choiceNames<Optimizer>()},
      {"train.schedule", choiceNames<Schedule>()},
      {"train.monitor", choiceNames<Monitor>()},
      {"train.precision", choiceNames<Precision>()},
      {"eval.tta", choiceNames<Tta>()},
  };
}

TEST(ConfigSchema, EveryChoiceRoundTripsThroughItsEnum) {
  for (const ChoiceKey& choice : choiceKeys()) {
    for (const std::string& name : choice.names) {
      const ResolvedRun run = single("", {choice.key + "=" + name});
      const json resolved = json::parse(run.resolved_json);
      const auto dot = choice.key.find('.');
      EXPECT_EQ(resolved[choice.key.substr(0, dot)][choice.key.substr(dot + 1)], name);
      // The enum the loader chose spells the same word back.
      EXPECT_EQ(resolvedJson(run.config), run.resolved_json) << choice.key << " = " << name;
    }
    // A word outside the enum is an error naming the key and every allowed word.
    const std::string error = errorOf("", {choice.key + "=nonsense"});
    EXPECT_NE(error.find("--set " + choice.key), std::string::npos) << error;
    for (const std::string& name : choice.names)
      EXPECT_NE(error.find(name), std::string::npos) << choice.key << ": " << error;
  }
}

TEST(ConfigSchema, EntryChoicesRoundTrip) {
  for (const std::string& name : choiceNames<Activation>()) {
    const ResolvedRun run =
        single("[model]\nname = \"resnet18\"\n[[model.head]]\nactivation = \"" + name + "\"");
    EXPECT_EQ(resolvedJson(run.config), run.resolved_json) << name;
  }
  for (const std::string& name : std::vector<std::string>{"", "sgd", "adam", "adamw"}) {
    const ResolvedRun run = single("[[train.phases]]\noptimizer = \"" + name + "\"");
    EXPECT_EQ(resolvedJson(run.config), run.resolved_json) << name;
    EXPECT_EQ(run.config.train.phases[0].optimizer.has_value(), !name.empty());
  }
}

TEST(ConfigSchema, ResolvedJsonOfTheDefaultStructIsTheDefaultConfig) {
  RunConfig defaults;
  defaults.experiment = "exp";
  EXPECT_EQ(resolvedJson(defaults), single("").resolved_json);
}

// --- run identity ---------------------------------------------------------------------------

TEST(ConfigIdentity, ExecutionKeysAreTheDeclaredOnes) {
  EXPECT_EQ(executionKeys(),
            (std::vector<std::string>{"data.cache_dir", "train.device", "train.threads",
                                      "train.channels_last", "eval.batch_size",
                                      "tracking.mlflow_uri", "tracking.tensorboard_dir"}));
}

TEST(ConfigIdentity, ExecutionKeysAreRecordedButDoNotChangeTheHash) {
  const ResolvedRun base = single("");
  const std::vector<std::string> changes = {"description=\"on the cluster\"",
                                            "data.cache_dir=\"/scratch/cache\"",
                                            "train.device=\"cuda:1\"",
                                            "train.threads=16",
                                            "train.channels_last=true",
                                            "eval.batch_size=64",
                                            "tracking.mlflow_uri=\"http://mlflow.lab:5000\"",
                                            "tracking.tensorboard_dir=\"tb\"",
                                            "reference.source=\"a paper\"",
                                            "reference.claimed=0.7",
                                            "reference.differences=[\"x\"]",
                                            "reference.epochs=300"};
  for (const std::string& change : changes) {
    const ResolvedRun changed = single("", {change});
    EXPECT_EQ(changed.config_hash, base.config_hash) << change;
    EXPECT_NE(changed.resolved_json, base.resolved_json) << change << " is recorded";
  }
}

TEST(ConfigIdentity, IdentityKeysChangeTheHash) {
  const ResolvedRun base = single("");
  for (const std::string& change :
       {"train.lr=0.01", "train.precision=\"bf16\"", "data.subset=0.5", "data.eval_subset=0.5",
        "augment.noise_std=0.1", "model.name=\"vggnet\"", "eval.tta=\"hflip\""}) {
    EXPECT_NE(single("", {change}).config_hash, base.config_hash) << change;
  }
}

// The run id of every existing record hangs on this value: a new key declared as an execution
// setting must leave it alone. (A new identity key changes it, and the runs it identifies
// would then be retrained: declare such a key knowingly.)
TEST(ConfigIdentity, DefaultConfigHashIsPinned) {
  EXPECT_EQ(single("").config_hash, "bb0a652886354930");
}

TEST(ConfigIdentity, EvalSubsetOfARecordedRun) {
  EXPECT_EQ(evalSubsetOf(single("[data]\neval_subset = 0.25").resolved_json), 0.25);
  EXPECT_EQ(evalSubsetOf(single("").resolved_json), 1.0);
  EXPECT_EQ(evalSubsetOf("{}"), 1.0);        // recorded before the key existed
  EXPECT_EQ(evalSubsetOf("not json"), 1.0);  // unreadable: shown as recorded
}

// Every experiment and config file in the repository loads: a key renamed in the schema, a
// misspelt choice or a broken include in one of them fails here, not in a user's run.
TEST(ConfigFiles, EveryExperimentInTheRepositoryLoads) {
  namespace fs = std::filesystem;
  int files = 0, references = 0;
  for (const char* folder : {"experiments", "configs"}) {
    for (const auto& entry :
         fs::recursive_directory_iterator(fs::path(FERLAB_SOURCE_DIR) / folder)) {
      if (entry.path().extension() != ".toml") continue;
      ++files;
      ExperimentGrid grid;
      EXPECT_NO_THROW(grid = loadExperiment(entry.path().string())) << entry.path();
      const bool reproduces = entry.path().parent_path().filename() == "reproduce";
      for (const ResolvedRun& run : grid.runs) {
        if (reproduces) EXPECT_FALSE(run.config.reference.source.empty()) << entry.path();
      }
      references += reproduces ? 1 : 0;
    }
  }
  EXPECT_GT(files, 20);
  EXPECT_GE(references, 8);  // experiments/reproduce/: one file per published result
}

TEST(ConfigFiles, ReferenceDifferencesMayBeEmptyButNotOtherLists) {
  EXPECT_TRUE(single("[reference]\ndifferences = []").config.reference.differences.empty());
  EXPECT_NE(errorOf("[[train.phases]]\ntrainable = []").find("non-empty array"), std::string::npos);
}

// --- rules that span keys -------------------------------------------------------------------

TEST(ConfigRules, PhasesThatTrainNothingAreAnError) {
  const std::string error =
      errorOf("[[train.phases]]\ntrainable = \"none\"\n[[train.phases]]\ntrainable = [\"none\"]");
  EXPECT_NE(error.find("train.phases: every phase has trainable = [\"none\"]"), std::string::npos)
      << error;
  // One phase that trains is enough.
  EXPECT_NO_THROW(single("[[train.phases]]\ntrainable = \"none\"\n[[train.phases]]"));
}

TEST(ConfigRules, MixupPlusCutmixAboveOneStaysAnError) {
  EXPECT_NE(errorOf("[augment]\nmixup = 0.6\ncutmix = 0.6").find("augment.mixup + augment.cutmix"),
            std::string::npos);
}

TEST(ConfigRules, EvalSubsetIsAFraction) {
  EXPECT_EQ(single("[data]\neval_subset = 0.25").config.data.eval_subset, 0.25);
  EXPECT_NE(errorOf("[data]\neval_subset = 0").find("data.eval_subset: expected a float in (0, 1]"),
            std::string::npos);
  EXPECT_NE(errorOf("[data]\neval_subset = 1.5").find("data.eval_subset"), std::string::npos);
}

// --- generated documentation ------------------------------------------------------------------

TEST(ConfigReference, DefaultTomlDocumentsEveryKey) {
  const std::string toml = defaultConfigToml();
  for (const std::string& key : {"lr = 0.001", "eval_subset = 1.0", "noise_std = 0.0",
                                 "# [[model.head]]", "# [[train.phases]]", "oversample:"}) {
    EXPECT_NE(toml.find(key), std::string::npos) << key;
  }
  EXPECT_NE(toml.find("[execution]"), std::string::npos);
}

TEST(ConfigReference, ReadmeCarriesTheGeneratedReference) {
  std::ifstream in(std::string(FERLAB_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  const std::string begin = "<!-- config-reference:begin -->\n";
  const std::string end = "<!-- config-reference:end -->";
  const auto from = readme.find(begin);
  const auto to = readme.find(end);
  ASSERT_NE(from, std::string::npos) << "README.md lacks " << begin;
  ASSERT_NE(to, std::string::npos) << "README.md lacks " << end;
  EXPECT_EQ(readme.substr(from + begin.size(), to - from - begin.size()), configReferenceMarkdown())
      << "README's config reference is out of date: run scripts/update_config_reference.sh";
}

}  // namespace
}  // namespace ferlab::config
