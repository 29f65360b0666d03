#include "framework/train/Phases.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <torch/nn/modules/batchnorm.h>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::train {
namespace {

bool startsWithPrefix(const std::string& name, const std::string& prefix) {
  return name == prefix || name.rfind(prefix + ".", 0) == 0;
}

// The index of the last block that contains `name`, or -1.
int blockOf(const std::vector<std::string>& blocks, const std::string& name) {
  for (int i = static_cast<int>(blocks.size()) - 1; i >= 0; --i) {
    if (startsWithPrefix(name, blocks[static_cast<std::size_t>(i)])) return i;
  }
  return -1;
}

// One `trainable` entry resolved: a parameter-name prefix, and whether every later block
// trains too ("layer3+", or "features.24:" in the seeds' notation).
struct TrainableEntry {
  std::string written;
  std::string prefix;
  bool and_later = false;
};

TrainableEntry parseEntry(const models::ClassifierImpl& model, const std::string& written) {
  TrainableEntry entry;
  entry.written = written;
  std::string base = written;
  if (!base.empty() && (base.back() == '+' || base.back() == ':')) {
    entry.and_later = true;
    base.pop_back();
  }
  entry.prefix = model.parameterPrefix(base);
  return entry;
}

bool entryTrains(const TrainableEntry& entry, const std::vector<std::string>& blocks,
                 const std::string& name) {
  if (startsWithPrefix(name, entry.prefix)) return true;
  if (!entry.and_later) return false;
  const int first = blockOf(blocks, entry.prefix);
  return first >= 0 && blockOf(blocks, name) >= first;
}

std::string trainableKey(const PhasePlan& phase) {
  return fmt::format("train.phases[{}].trainable", phase.index);
}

std::vector<TrainableEntry> resolveEntries(const models::ClassifierImpl& model,
                                           const PhasePlan& phase,
                                           const std::vector<std::string>& blocks) {
  std::vector<TrainableEntry> entries;
  const auto parameters = model.named_parameters(/*recurse=*/true);
  for (const auto& written : phase.config.trainable) {
    if (written == "all" || written == "head" || written == "none") continue;
    auto entry = parseEntry(model, written);
    const bool matches = std::any_of(parameters.begin(), parameters.end(), [&](const auto& item) {
      return startsWithPrefix(item.key(), entry.prefix);
    });
    if (!matches || (entry.and_later && blockOf(blocks, entry.prefix) < 0)) {
      throw ConfigError(fmt::format(
          "{}: '{}' names no {} of the model (blocks: {})", trainableKey(phase), written,
          entry.and_later ? "block" : "block or parameter", fmt::join(blocks, ", ")));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

bool hasEntry(const PhasePlan& phase, const std::string& keyword) {
  const auto& trainable = phase.config.trainable;
  return std::find(trainable.begin(), trainable.end(), keyword) != trainable.end();
}

std::vector<std::shared_ptr<torch::nn::Module>> frozenBatchNorms(torch::nn::Module& model) {
  std::vector<std::shared_ptr<torch::nn::Module>> frozen;
  for (const auto& module : model.modules(/*include_self=*/false)) {
    const bool is_batch_norm = dynamic_cast<torch::nn::BatchNorm1dImpl*>(module.get()) != nullptr ||
                               dynamic_cast<torch::nn::BatchNorm2dImpl*>(module.get()) != nullptr;
    if (!is_batch_norm) continue;
    const auto parameters = module->parameters(/*recurse=*/false);
    const bool all_frozen = std::none_of(parameters.begin(), parameters.end(),
                                         [](const torch::Tensor& p) { return p.requires_grad(); });
    if (all_frozen) frozen.push_back(module);
  }
  return frozen;
}

}  // namespace

std::vector<PhasePlan> planPhases(const config::TrainConfig& train) {
  std::vector<PhasePlan> plans;
  if (train.phases.empty()) {
    PhasePlan plan;
    plan.name = "train";
    plan.last_epoch = train.epochs;
    plans.push_back(plan);
    return plans;
  }
  int next_epoch = 1;
  for (std::size_t i = 0; i < train.phases.size(); ++i) {
    PhasePlan plan;
    plan.index = static_cast<int>(i);
    plan.config = train.phases[i];
    plan.name = plan.config.name.empty() ? fmt::format("phase{}", i + 1) : plan.config.name;
    plan.first_epoch = next_epoch;
    plan.last_epoch = next_epoch + plan.config.epochs - 1;
    next_epoch = plan.last_epoch + 1;
    plans.push_back(plan);
  }
  return plans;
}

const PhasePlan& phaseForEpoch(const std::vector<PhasePlan>& phases, int epoch) {
  for (const auto& phase : phases) {
    if (epoch <= phase.last_epoch) return phase;
  }
  return phases.back();
}

void checkTrainable(const models::ClassifierImpl& model, const PhasePlan& phase) {
  resolveEntries(model, phase, model.blockNames());
}

PhaseSetup setUpPhase(models::ClassifierImpl& model, const PhasePlan& phase,
                      const config::TrainConfig& train) {
  const auto blocks = model.blockNames();
  const auto entries = resolveEntries(model, phase, blocks);
  const bool nothing = phase.config.trainable == std::vector<std::string>{"none"};
  const bool everything = hasEntry(phase, "all");

  PhaseSetup setup;
  setup.base_lr = phase.config.lr > 0 ? phase.config.lr : train.lr * phase.config.lr_mult;
  setup.optimizer = phase.config.optimizer.value_or(train.optimizer);
  // Group key: -1 = head (and anything outside the blocks), else the block index.
  std::map<int, ParameterGroup, std::greater<int>> by_block;
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    const auto& name = item.key();
    auto& parameter = item.value();
    const bool head = model.isHeadParameter(name);
    const bool trains =
        !nothing &&
        (head || everything || std::any_of(entries.begin(), entries.end(), [&](const auto& entry) {
           return entryTrains(entry, blocks, name);
         }));
    parameter.set_requires_grad(trains);
    setup.total_params += parameter.numel();
    if (!trains) continue;
    setup.trainable_params += parameter.numel();
    const int block = head ? -1 : blockOf(blocks, name);
    // Depth below the top: the last block is 1 level below the head.
    const int depth = block < 0 ? 0 : static_cast<int>(blocks.size()) - block;
    auto& group = by_block[block < 0 ? static_cast<int>(blocks.size()) : block];
    group.lr = setup.base_lr * std::pow(phase.config.layer_decay, depth);
    group.parameters.push_back(parameter);
  }
  for (auto& [block, group] : by_block) setup.groups.push_back(std::move(group));
  if (!phase.config.train_frozen_bn) setup.frozen_batch_norms = frozenBatchNorms(model);
  return setup;
}

}  // namespace ferlab::train
