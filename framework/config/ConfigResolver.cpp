// Resolution: defaults <- per-model defaults <- settings (includes, file, --set) <- grid cell,
// then the rules that span keys, the RunConfig, the canonical JSON record and the config
// hash (over the identity keys only); and the public entry points of ConfigLoader.h.

#include <algorithm>
#include <climits>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "framework/config/ConfigLayers.h"
#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"
#include "framework/core/Hash.h"

namespace ferlab::config {
namespace {

namespace fs = std::filesystem;

void applyModelDefaults(json& config, const std::string& model) {
  const ModelDefaults defaults = modelDefaults(*parseChoice<ModelName>(model));
  config["model"]["batch_norm"] = defaults.batch_norm;
  config["model"]["conv_dropout"] = defaults.conv_dropout;
  config["model"]["fc_dropout"] = defaults.fc_dropout;
}

/// The resolved config without its execution keys and annotations: what the config hash
/// covers.
json identityOf(json config) {
  for (const Key& key : schema().keys()) {
    if (key.role == KeyRole::Identity) continue;
    const auto dot = key.key.find('.');
    if (dot == std::string::npos) {
      config.erase(key.key);
    } else {
      json& section = config[key.key.substr(0, dot)];
      section.erase(key.key.substr(dot + 1));
      // A section of annotations only ([reference]) leaves nothing behind.
      if (section.empty()) config.erase(key.key.substr(0, dot));
    }
  }
  return config;
}

/// A freeze / fine-tune schedule in which no phase trains anything cannot make a single
/// optimiser step: fail before training rather than in backward() mid-run.
void checkSomethingTrains(const json& config, const std::map<std::string, Origin>& origins) {
  const json& phases = config["train"]["phases"];
  if (phases.empty()) return;
  for (const json& phase : phases) {
    if (phase["trainable"] != json::array({"none"})) return;
  }
  fail(origins.at("train.phases"), "train.phases",
       "every phase has trainable = [\"none\"], so nothing would ever train; let at least one "
       "phase train the head or a block");
}

/// Scalars as params and run names show them: strings unquoted, numbers as JSON.
std::string valueText(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

/// With [[train.phases]], train.epochs is the sum of the phases' epochs. A train.epochs set
/// anywhere (file, include, --set, grid) must equal that sum: the schedule decides the length.
void resolvePhaseEpochs(json& config, const std::map<std::string, Origin>& origins) {
  const json& phases = config["train"]["phases"];
  if (phases.empty()) return;
  std::int64_t total = 0;
  for (const json& phase : phases) total += phase["epochs"].get<std::int64_t>();
  if (total > INT_MAX) {
    fail(origins.at("train.phases"), "train.phases",
         "the phases' epochs add up to " + std::to_string(total) + ", more than " +
             std::to_string(INT_MAX));
  }
  const auto epochs = origins.find("train.epochs");
  if (epochs != origins.end() && config["train"]["epochs"].get<std::int64_t>() != total) {
    fail(epochs->second, "train.epochs",
         std::to_string(config["train"]["epochs"].get<std::int64_t>()) +
             " differs from the sum of the train.phases epochs, " + std::to_string(total) +
             "; leave train.epochs unset when phases are given, or set it to " +
             std::to_string(total));
  }
  config["train"]["epochs"] = total;
}

/// Rules that span two keys; reported at whichever of the two the config set (the defaults
/// satisfy every rule, so at least one was set when a rule fails).
void checkCombinations(const json& config, const std::map<std::string, Origin>& origins,
                       const std::string& source) {
  auto originOf = [&](const std::string& preferred, const std::string& other) {
    if (auto it = origins.find(preferred); it != origins.end())
      return std::make_pair(preferred, it->second);
    if (auto it = origins.find(other); it != origins.end())
      return std::make_pair(other, it->second);
    return std::make_pair(preferred, Origin{source, 1, 1, {}});
  };
  const double val = config["data"]["val_fraction"].get<double>();
  const double test = config["data"]["test_fraction"].get<double>();
  if (val + test >= 1) {
    const auto [key, origin] = originOf("data.test_fraction", "data.val_fraction");
    fail(origin, key,
         "data.val_fraction + data.test_fraction must be below 1, got " + formatNumber(val) +
             " + " + formatNumber(test));
  }
  const auto& augment = config["augment"];
  for (const auto& [low, high] : {std::pair<std::string, std::string>{"scale_min", "scale_max"},
                                  {"erase_area_min", "erase_area_max"}}) {
    const double lo = augment[low].get<double>();
    const double hi = augment[high].get<double>();
    if (lo > hi) {
      const auto [key, origin] = originOf("augment." + low, "augment." + high);
      fail(origin, key,
           "augment." + low + " must be <= augment." + high + ", got " + formatNumber(lo) + " > " +
               formatNumber(hi));
    }
  }
  if (augment["mixup"].get<double>() + augment["cutmix"].get<double>() > 1) {
    const auto [key, origin] = originOf("augment.cutmix", "augment.mixup");
    fail(origin, key,
         "augment.mixup + augment.cutmix must be <= 1 (at most one mixes a batch), got " +
             formatNumber(augment["mixup"].get<double>()) + " + " +
             formatNumber(augment["cutmix"].get<double>()));
  }
  const int image_size = config["data"]["image_size"].get<int>();
  if (config["eval"]["tta"] == "ten_crop" && config["eval"]["crop_size"].get<int>() > image_size) {
    const auto [key, origin] = originOf("eval.crop_size", "data.image_size");
    fail(origin, key,
         "eval.crop_size must be <= data.image_size (" + std::to_string(image_size) + "), got " +
             std::to_string(config["eval"]["crop_size"].get<int>()));
  }
  const auto& train = config["train"];
  if (train["optimizer"] == "sgd" && train["nesterov"].get<bool>() &&
      train["momentum"].get<double>() <= 0) {
    const auto [key, origin] = originOf("train.nesterov", "train.momentum");
    fail(origin, key, "nesterov momentum needs train.momentum > 0");
  }
}

/// Grid-cell names: the last key component, or the whole key where two axes share it
/// (train.batch_size and eval.batch_size).
std::vector<std::string> axisLabels(const std::vector<Axis>& grid) {
  std::vector<std::string> labels;
  for (const Axis& axis : grid) {
    const std::string last = lastComponent(axis.key);
    const bool shared = std::count_if(grid.begin(), grid.end(), [&](const Axis& other) {
                          return lastComponent(other.key) == last;
                        }) > 1;
    labels.push_back(shared ? axis.key : last);
  }
  return labels;
}

class Resolver {
 public:
  Resolver(const Layers& layers, std::string source, std::string default_name)
      : layers_(layers), source_(std::move(source)), default_name_(std::move(default_name)) {}

  ResolvedRun resolve(const std::vector<const Setting*>& cell, int index) const {
    json config = schema().defaults();
    config["name"] = default_name_;
    applyModelDefaults(config, finalModel(cell));
    std::map<std::string, Origin> origins;
    for (const Setting& setting : layers_.settings) apply(config, setting, origins);
    for (const Setting* setting : cell) apply(config, *setting, origins);
    resolvePhaseEpochs(config, origins);
    checkSomethingTrains(config, origins);
    checkCombinations(config, origins, source_);
    return makeRun(config, cell, index);
  }

 private:
  std::string finalModel(const std::vector<const Setting*>& cell) const {
    std::string model = schema().defaults()["model"]["name"].get<std::string>();
    for (const Setting& setting : layers_.settings) {
      if (setting.key == "model.name") model = setting.value.get<std::string>();
    }
    for (const Setting* setting : cell) {
      if (setting->key == "model.name") model = setting->value.get<std::string>();
    }
    return model;
  }

  static void apply(json& config, const Setting& setting, std::map<std::string, Origin>& origins) {
    config[pointerTo(setting.key)] = setting.value;
    origins[setting.key] = setting.origin;
  }

  ResolvedRun makeRun(const json& config, const std::vector<const Setting*>& cell,
                      int index) const {
    ResolvedRun run;
    for (const Key& key : schema().keys()) key.write(run.config, config[pointerTo(key.key)]);
    for (const ArrayKey& array : schema().arrays())
      array.write(run.config, config[pointerTo(array.key)]);
    run.resolved_json = config.dump();
    run.config_hash = core::hashHex(identityOf(config).dump());
    for (const Key& key : schema().keys()) {
      if (key.key.find('.') != std::string::npos) {
        run.params.emplace_back(key.key, valueText(config[pointerTo(key.key)]));
      }
    }
    // Arrays flatten per entry and key: ("model.head[0].units", "128"); a list value
    // (train.phases[0].trainable) stays JSON: ["layer4","head"].
    for (const ArrayKey& array : schema().arrays()) {
      const json& entries = config[pointerTo(array.key)];
      for (std::size_t i = 0; i < entries.size(); ++i) {
        for (const auto& [key, value] : entries[i].items()) {
          run.params.emplace_back(array.key + "[" + std::to_string(i) + "]." + key,
                                  valueText(value));
        }
      }
    }
    std::sort(run.params.begin(), run.params.end());
    run.name = run.config.experiment;
    const auto labels = axisLabels(layers_.grid);
    for (std::size_t i = 0; i < cell.size(); ++i) {
      run.grid_values.emplace_back(cell[i]->key, valueText(cell[i]->value));
      run.name += (i == 0 ? "[" : ",") + labels[i] + "=" + valueText(cell[i]->value);
    }
    if (!cell.empty()) run.name += "]";
    run.index = index;
    return run;
  }

  const Layers& layers_;
  std::string source_;
  std::string default_name_;
};

/// The most runs one experiment's grid may expand to. Each run is resolved, hashed and kept
/// in memory before anything trains, so a grid of a few axes with many values each (30^4 runs
/// from a 300-byte file) would otherwise use gigabytes and minutes before the first error.
constexpr std::size_t kMaxGridRuns = 10000;

/// Throws ConfigError "file:line:column: [grid]: more than 10000 runs (30 train.lr x ...)" at
/// the axis that takes the grid past kMaxGridRuns cells.
void checkGridSize(const std::vector<Axis>& grid) {
  std::size_t runs = 1;
  std::string axes;
  for (const Axis& axis : grid) {
    axes += fmt::format("{}{} {}", axes.empty() ? "" : " x ", axis.values.size(), axis.key);
    runs = axis.values.size() > kMaxGridRuns ? kMaxGridRuns + 1 : runs * axis.values.size();
    if (runs > kMaxGridRuns) {
      failAt(axis.values.front().origin,  // grid values come from files, never from --set
             fmt::format("[grid]: more than {} runs ({}...); split the experiment into several",
                         kMaxGridRuns, axes));
    }
  }
}

/// Cartesian product of the axes, first axis slowest.
std::vector<std::vector<const Setting*>> gridCells(const std::vector<Axis>& grid) {
  std::vector<std::vector<const Setting*>> cells(1);
  for (const Axis& axis : grid) {
    std::vector<std::vector<const Setting*>> next;
    next.reserve(cells.size() * axis.values.size());
    for (const auto& cell : cells) {
      for (const Setting& value : axis.values) {
        next.push_back(cell);
        next.back().push_back(&value);
      }
    }
    cells = std::move(next);
  }
  return cells;
}

ExperimentGrid resolveGrid(Layers layers, const std::string& source,
                           const std::vector<std::string>& overrides) {
  for (const std::string& text : overrides) {
    Setting setting = parseOverride(text);
    // An explicit --set pins the key, so the grid no longer varies it.
    layers.grid.erase(std::remove_if(layers.grid.begin(), layers.grid.end(),
                                     [&](const Axis& axis) { return axis.key == setting.key; }),
                      layers.grid.end());
    layers.settings.push_back(std::move(setting));
  }
  std::string default_name = fs::path(source).stem().string();
  if (default_name.empty()) default_name = schema().defaults()["name"].get<std::string>();

  ExperimentGrid experiment;
  experiment.source = source;
  for (const Axis& axis : layers.grid) experiment.grid_keys.push_back(axis.key);
  const Resolver resolver(layers, source, default_name);
  checkGridSize(layers.grid);
  const auto cells = gridCells(layers.grid);
  for (std::size_t i = 0; i < cells.size(); ++i) {
    experiment.runs.push_back(resolver.resolve(cells[i], static_cast<int>(i)));
  }
  experiment.name = experiment.runs.front().config.experiment;
  return experiment;
}

}  // namespace

ExperimentGrid loadExperiment(const std::string& path, const std::vector<std::string>& overrides) {
  return parseExperiment(readFile(path, path + ": cannot read file: "), path, overrides);
}

ExperimentGrid parseExperiment(const std::string& toml_text, const std::string& source,
                               const std::vector<std::string>& overrides) {
  return resolveGrid(readLayers(toml_text, source), source, overrides);
}

std::string resolvedJson(const RunConfig& config) {
  json out = json::object();
  for (const Key& key : schema().keys()) out[pointerTo(key.key)] = key.read(config);
  for (const ArrayKey& array : schema().arrays()) out[pointerTo(array.key)] = array.read(config);
  return out.dump();
}

double evalSubsetOf(const std::string& resolved_json) {
  const json stored = json::parse(resolved_json, nullptr, /*allow_exceptions=*/false);
  if (!stored.is_object() || !stored.contains("data") || !stored["data"].is_object()) return 1.0;
  const json& value = stored["data"].value("eval_subset", json(1.0));
  return value.is_number() ? value.get<double>() : 1.0;
}

std::vector<std::string> executionKeys() {
  std::vector<std::string> keys;
  for (const Key& key : schema().keys()) {
    if (key.role == KeyRole::Execution) keys.push_back(key.key);
  }
  return keys;
}

RunConfig runConfigFromResolvedJson(const std::string& resolved_json, const std::string& source) {
  json stored;
  try {
    stored = json::parse(resolved_json);
  } catch (const json::exception& error) {
    throw ConfigError(source + ": stored config is not JSON: " + error.what());
  }
  // Defaults first: a run recorded before a key existed gets that key's default, which is
  // what it ran with.
  json config = schema().defaults();
  if (stored.is_object()) config.merge_patch(stored);
  RunConfig run;
  const auto convert = [&](const std::string& key, const auto& write) {
    const json& value = config[pointerTo(key)];
    try {
      write(run, value);
    } catch (const std::exception& error) {  // a wrong type, or a choice unknown here
      throw ConfigError(source + ": stored config key " + key + ": " + error.what());
    }
  };
  for (const Key& key : schema().keys()) convert(key.key, key.write);
  for (const ArrayKey& array : schema().arrays()) convert(array.key, array.write);
  return run;
}

}  // namespace ferlab::config
