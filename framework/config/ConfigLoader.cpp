#include "framework/config/ConfigLoader.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "framework/core/Errors.h"
#include "framework/core/Hash.h"

namespace ferlab::config {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The defaults, and therefore the schema: a key that is not here is unknown, and a value must
// have the type written here. Must match RunConfig.h field for field; the tests compare them.
constexpr const char* kDefaultToml =
    R"toml(# FERLab default configuration: every key with its default value and allowed range.
# An experiment file sets only what differs from here; `--set section.key=value` overrides.
# Other top-level keys: include = ["base.toml"] (merged first, relative to the including file)
# and [grid] ("section.key" = [v1, v2, ...]; the runs are the Cartesian product).

name = "experiment"  # experiment name; default: the experiment file's stem
description = ""

[data]
path = "data/fer2013"        # image folder or .csv file
format = "auto"              # auto | folder | csv
cache_dir = "results/cache"  # decoded-dataset cache folder
image_size = 48              # pixels, >= 8; images of another size are an error
subset = 1.0                 # fraction in (0, 1], or an integer > 1 = number of training images
val_fraction = 0.1           # [0, 1); only when the layout carries no official split
test_fraction = 0.1          # [0, 1); val_fraction + test_fraction < 1
split_seed = 1234            # >= 0
align = "none"               # none | eyes: detect face + eyes (OpenCV Haar cascades), rotate
                             # so the eyes are level, crop the face box, resize; cached
align_margin = 0.2           # margin around the detected face box, fraction of its side, [0, 1]
align_upsample = 4           # small images are upsampled by this factor before detection, >= 1
cascade_dir = ""             # folder of the OpenCV cascade XML files; "" = the packaged one

[model]
name = "simple_cnn"   # from scratch: simple_cnn | vggnet | elu_cnn; ImageNet backbones: vgg16 |
                      # vgg16_bn | vgg19 | vgg19_bn | resnet18 | resnet50 | mobilenet_v2 | xception
num_classes = 7       # >= 2
# Per-model defaults replace these three when the config does not set them:
#   simple_cnn: batch_norm = false, conv_dropout = 0.25, fc_dropout = 0.5
#   vggnet:     batch_norm = true,  conv_dropout = 0.0,  fc_dropout = 0.2
#   elu_cnn:    batch_norm = true,  conv_dropout = 0.4,  fc_dropout = 0.5
#   backbones:  batch_norm = false, conv_dropout = 0.0,  fc_dropout = 0.0 (unused; the
#               [[model.head]] layers carry their own dropout)
batch_norm = false
conv_dropout = 0.25   # [0, 1)
fc_dropout = 0.5      # [0, 1)
# ImageNet backbones only:
weights = ""          # .pth / .safetensors file, kept as written: a relative path is relative
                      # to the working directory, like data.path; "" = random initialisation
strict_weights = false  # true: every backbone key must match the file
input_size = 0        # pixels, 0 or >= 32: images are resized on the device; 0 = data.image_size
input_channels = "replicate"  # grey -> 3 channels: replicate | sum_conv1 (1-channel conv1
                              # holding the sum of the RGB filters)
# Hidden layers of the head, between global average pooling and the classifier, in order;
# none by default. One table per layer, every key optional (defaults below). An array in the
# including file replaces an included one as a whole; `head = []` removes it:
# [[model.head]]
# units = 128           # >= 1
# activation = "relu"   # relu | elu | gelu | none
# batch_norm = false
# gaussian_noise = 0.0  # std of additive noise in training, >= 0
# dropout = 0.0         # [0, 1)

[augment]
hflip = 0.0           # probability of a horizontal flip, [0, 1]
crop_padding = 0      # pixels of zero padding before a random crop, >= 0; 0 = off
affine = 0.0          # probability of a random affine transform, [0, 1]
rotation = 0.0        # max rotation in degrees, [0, 180]
translate = 0.0       # max shift as a fraction of the image size per axis, [0, 1)
scale_min = 1.0       # affine scale drawn from [scale_min, scale_max], > 0
scale_max = 1.0       # >= scale_min
shear = 0.0           # max shear in degrees, [0, 180]
jitter = 0.0          # probability of brightness/contrast jitter, [0, 1]
brightness = 0.0      # max additive shift as a fraction of 255, [0, 1]
contrast = 0.0        # max multiplicative deviation around the image mean, [0, 1]
erase = 0.0           # probability of random erasing (Zhong et al. 2020), [0, 1]
erase_area_min = 0.02 # min erased area as a fraction of the image, (0, 1)
erase_area_max = 0.33 # max erased area, [erase_area_min, 1)
noise_std = 0.0       # std of Gaussian noise on the normalised input, >= 0; 0 = off
mixup = 0.0           # probability that a batch is mixed with mixup (Zhang et al. 2018), [0, 1]
mixup_alpha = 0.2     # Beta(alpha, alpha) of the mixing weight, > 0
cutmix = 0.0          # probability that a batch is mixed with cutmix (Yun et al. 2019), [0, 1];
                      # mixup + cutmix <= 1 (at most one of them per batch)
cutmix_alpha = 1.0    # Beta(alpha, alpha) of the kept area fraction, > 0

[balance]
method = "none"       # none | oversample | undersample | class_weights | weighted_sampler | focal
focal_gamma = 2.0     # focal-loss focusing parameter, >= 0 (method = "focal")

[train]
epochs = 30           # >= 1
batch_size = 64       # >= 1
optimizer = "adam"    # sgd | adam | adamw
lr = 0.001            # > 0
momentum = 0.9        # [0, 1); sgd only
nesterov = false      # sgd only; needs momentum > 0
weight_decay = 0.0    # >= 0
schedule = "none"     # none | step | cosine | plateau
step_size = 10        # epochs between decays (step), >= 1
gamma = 0.1           # decay (step) / reduction (plateau) factor, (0, 1]
plateau_patience = 5  # epochs without improvement before a reduction, >= 0
min_lr = 0.0          # floor for cosine and plateau, >= 0
monitor = "val_accuracy"  # val_accuracy | val_macro_f1 | val_loss
early_stopping = 0    # patience in epochs, >= 0; 0 = off
label_smoothing = 0.0 # [0, 1)
grad_clip = 0.0       # max global gradient L2 norm, >= 0; 0 = off
seed = 0              # >= 0
device = "auto"       # auto | cpu | cuda | cuda:N
threads = 0           # CPU intra-op threads, >= 0; 0 = every hardware thread
precision = "fp32"    # fp32 | bf16 | fp16: autocast dtype of the forward pass (fp16: CUDA only,
                      # with loss scaling); bf16 on a CPU without AVX512-BF16/AMX-BF16 and fp16
                      # on any CPU fall back to fp32, with a warning
channels_last = false # NHWC memory layout for conv weights and inputs
# Freeze / fine-tune schedule, phases run in order; none by default (one phase of `epochs`
# epochs training everything). With phases, train.epochs is their sum: leave it unset or set
# it to that sum; any other value is an error. One table per phase, every key optional
# (defaults below). An array in the including file replaces an included one as a whole;
# `phases = []` removes it:
# [[train.phases]]
# name = ""               # "" = "phase<N>", N counted from 1
# epochs = 1              # >= 1
# trainable = ["all"]     # a string or an array of: all | head | none | a block name or
#                         # prefix ("layer4", "features.24"); "layer3+" (or "layer3:") = that
#                         # block and every later one; the head trains unless it is ["none"]
# optimizer = ""          # "" = train.optimizer | sgd | adam | adamw
# lr = 0.0                # >= 0; 0 = train.lr x lr_mult
# lr_mult = 1.0           # > 0; multiplies train.lr when lr = 0 (not allowed with lr > 0)
# layer_decay = 1.0       # (0, 1]: lr x layer_decay^k for the k-th block below the top
# train_frozen_bn = false # false: frozen BatchNorm layers stay in eval mode

[eval]
batch_size = 512      # >= 1
tta = "none"          # none | hflip | ten_crop (4 corner + centre crops and their mirrors)
crop_size = 40        # ten_crop crop side in pixels, [8, data.image_size]; crops are resized
                      # back to the model input size
)toml";

// Per-model defaults: applied over the base defaults and under every user value, so
// `model.name = "vggnet"` alone gives the regularisation that architecture is built around.
struct ModelDefaults {
  const char* name;
  bool batch_norm;
  double conv_dropout;
  double fc_dropout;
};
constexpr ModelDefaults kModelDefaults[] = {
    {"simple_cnn", false, 0.25, 0.5},
    {"vggnet", true, 0.0, 0.2},
    {"elu_cnn", true, 0.4, 0.5},
    // ImageNet backbones: the from-scratch options do not apply; the head has its own.
    {"vgg16", false, 0.0, 0.0},
    {"vgg16_bn", false, 0.0, 0.0},
    {"vgg19", false, 0.0, 0.0},
    {"vgg19_bn", false, 0.0, 0.0},
    {"resnet18", false, 0.0, 0.0},
    {"resnet50", false, 0.0, 0.0},
    {"mobilenet_v2", false, 0.0, 0.0},
    {"xception", false, 0.0, 0.0},
};

constexpr const char* kSubsetKey = "data.subset";

// ---------------------------------------------------------------------------------------
// Error reporting

/// Where a value came from: a position in a TOML file, or a --set flag.
struct Origin {
  std::string file;  ///< empty for --set
  std::int64_t line = 0;
  std::int64_t column = 0;
  std::string set_key;  ///< the key as written after --set

  static Origin at(const std::string& file, const toml::source_region& region) {
    return {file,
            static_cast<std::int64_t>(region.begin.line),
            static_cast<std::int64_t>(region.begin.column),
            {}};
  }
  static Origin flag(const std::string& key) { return {{}, 0, 0, key}; }

  bool isFlag() const { return file.empty(); }
  std::string where() const {
    if (isFlag()) return "--set " + set_key;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
  }
};

/// "file:3:7: train.lr: <what>", or "--set train.lr: <what>" (the flag already names the key).
[[noreturn]] void fail(const Origin& origin, const std::string& key, const std::string& what) {
  if (origin.isFlag()) throw ConfigError(origin.where() + ": " + what);
  throw ConfigError(origin.where() + ": " + key + ": " + what);
}

[[noreturn]] void failAt(const Origin& origin, const std::string& what) {
  throw ConfigError(origin.where() + ": " + what);
}

std::size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string lastComponent(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

bool sameSection(const std::string& a, const std::string& b) {
  const auto dot = a.find('.');
  return dot != std::string::npos && b.compare(0, dot + 1, a, 0, dot + 1) == 0;
}

/// " (did you mean 'x'?)" for the closest candidate, or "" when none is close. Like is compared
/// with like: within one section only the part after the dot counts, and a word without a
/// section also matches a key's last component, so a stray top-level `lr` suggests 'train.lr'.
std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates) {
  std::size_t best_distance = SIZE_MAX;
  std::string best;
  for (const auto& candidate : candidates) {
    std::string typed = word;
    std::size_t distance = editDistance(word, candidate);
    if (sameSection(word, candidate)) {
      typed = lastComponent(word);
      distance = editDistance(typed, lastComponent(candidate));
    } else if (word.find('.') == std::string::npos) {
      distance = std::min(distance, editDistance(word, lastComponent(candidate)));
    }
    const std::size_t limit = typed.size() <= 3 ? 1 : std::max<std::size_t>(2, typed.size() / 3);
    if (distance <= limit && distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::string typeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    default:
      return "nothing";
  }
}

/// Numbers in messages as a person writes them (1, 0.25), not as JSON (1.0).
std::string formatNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// ---------------------------------------------------------------------------------------
// Schema: the default table plus a range check and a RunConfig assignment per key

/// "" when the value is acceptable, else what was expected ("expected an integer >= 1, got 0").
using Check = std::function<std::string(const json&)>;
using Assign = std::function<void(RunConfig&, const json&)>;

struct Rule {
  std::string key;
  Check check;
  Assign assign;
};

struct Field {
  std::string key;
  toml::node_type type;
  Check check;
  Assign assign;
};

Check anyValue() {
  return [](const json&) { return std::string(); };
}

Check intRange(std::int64_t low, std::int64_t high = INT_MAX) {
  return [=](const json& value) -> std::string {
    const auto x = value.get<std::int64_t>();
    if (x >= low && x <= high) return {};
    // The upper bound is only news to someone who went past it.
    const bool unbounded = high == INT64_MAX || (high == INT_MAX && x < low);
    const std::string range =
        unbounded ? ">= " + std::to_string(low)
                  : "in [" + std::to_string(low) + ", " + std::to_string(high) + "]";
    return "expected an integer " + range + ", got " + std::to_string(x);
  };
}

/// Floats in [low, high) and variants; `high` = infinity means no upper bound.
Check floatRange(double low, bool low_open, double high, bool high_open) {
  return [=](const json& value) -> std::string {
    const double x = value.get<double>();
    const bool above = low_open ? x > low : x >= low;
    const bool below = high_open ? x < high : x <= high;
    if (above && below) return {};
    std::string range;
    if (std::isinf(high)) {
      range = (low_open ? "> " : ">= ") + formatNumber(low);
    } else {
      range = std::string("in ") + (low_open ? "(" : "[") + formatNumber(low) + ", " +
              formatNumber(high) + (high_open ? ")" : "]");
    }
    return "expected a float " + range + ", got " + formatNumber(x);
  };
}

Check probability() {
  return floatRange(0, false, 1, false);
}
Check rate() {
  return floatRange(0, false, 1, true);
}
Check nonNegative() {
  return floatRange(0, false, INFINITY, false);
}

Check oneOf(std::vector<std::string> allowed) {
  return [allowed](const json& value) -> std::string {
    const auto text = value.get<std::string>();
    if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) return {};
    std::string list;
    for (const auto& option : allowed)
      list += (list.empty() ? "" : ", ") + (option.empty() ? std::string("\"\"") : option);
    return "expected one of " + list + ", got '" + text + "'" + didYouMean(text, allowed);
  };
}

Check nonEmpty() {
  return [](const json& value) -> std::string {
    return value.get<std::string>().empty() ? "expected a non-empty string" : "";
  };
}

// The name becomes part of report file names, so it may not climb out of a folder.
Check experimentName() {
  return [](const json& value) -> std::string {
    const auto text = value.get<std::string>();
    if (!text.empty() && text.find_first_of("/\\") == std::string::npos) return {};
    return "expected a non-empty name without '/' or '\\', got '" + text + "'";
  };
}

/// model.input_size: 0 (keep data.image_size) or a size a backbone can take.
Check inputSize() {
  return [](const json& value) -> std::string {
    const auto x = value.get<std::int64_t>();
    if (x == 0 || (x >= 32 && x <= INT_MAX)) return {};
    const std::string range = x > INT_MAX ? "in [32, " + std::to_string(INT_MAX) + "]" : ">= 32";
    return "expected 0 or an integer " + range + ", got " + std::to_string(x);
  };
}

/// One train.phases trainable entry: all | head | none | a dotted block name or prefix
/// ("layer4", "features.24"), the latter optionally with a trailing "+" (or ":", the seeds'
/// "features.24:" notation) for that block and every later one. Syntax only: the model
/// checks that the blocks exist.
bool trainableSyntax(const std::string& text) {
  if (text == "all" || text == "head" || text == "none") return true;
  std::string name = text;
  if (!name.empty() && (name.back() == '+' || name.back() == ':')) name.pop_back();
  if (name.empty() || name == "all" || name == "head" || name == "none") return false;
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string::npos)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
  });
}

Check trainableList() {
  return [](const json& value) -> std::string {
    std::set<std::string> seen;
    for (const json& item : value) {
      const auto text = item.get<std::string>();
      if (!trainableSyntax(text)) {
        return "expected all, head, none or a block name or prefix with an optional trailing "
               "'+' (\"layer3+\"), got '" +
               text + "'";
      }
      if (!seen.insert(text).second) return "'" + text + "' is listed twice";
    }
    for (const char* alone : {"all", "none"}) {
      if (value.size() > 1 && seen.count(alone) != 0)
        return std::string("'") + alone + "' must be the only entry, got " + value.dump();
    }
    return {};
  };
}

Check deviceName() {
  return [](const json& value) -> std::string {
    const auto text = value.get<std::string>();
    if (text == "auto" || text == "cpu" || text == "cuda") return {};
    const std::string prefix = "cuda:";
    const std::string index = text.substr(0, prefix.size()) == prefix ? text.substr(5) : "";
    const bool digits =
        !index.empty() && index.size() <= 3 &&
        std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) return {};
    return "expected auto, cpu, cuda or cuda:N, got '" + text + "'";
  };
}

template <typename Section, typename T>
Assign bind(Section RunConfig::*section, T Section::*field) {
  return [=](RunConfig& config, const json& value) { (config.*section).*field = value.get<T>(); };
}

template <typename T>
Assign bindTop(T RunConfig::*field) {
  return [=](RunConfig& config, const json& value) { config.*field = value.get<T>(); };
}

template <typename Entry, typename T>
std::function<void(Entry&, const json&)> member(T Entry::*field) {
  return [=](Entry& entry, const json& value) { entry.*field = value.get<T>(); };
}

// An integer subset counts training images; a float (or the integer 1) is a fraction.
void assignSubset(RunConfig& config, const json& value) {
  config.data.subset = value.get<double>();
  config.data.subset_is_count = value.is_number_integer();
}

std::vector<std::string> modelNames() {
  std::vector<std::string> names;
  for (const ModelDefaults& defaults : kModelDefaults) names.emplace_back(defaults.name);
  return names;
}

std::vector<Rule> rules() {
  using R = RunConfig;
  const double inf = INFINITY;
  return {
      {"name", experimentName(), bindTop(&R::experiment)},
      {"description", anyValue(), bindTop(&R::description)},
      {"data.path", nonEmpty(), bind(&R::data, &DataConfig::path)},
      {"data.format", oneOf({"auto", "folder", "csv"}), bind(&R::data, &DataConfig::format)},
      {"data.cache_dir", nonEmpty(), bind(&R::data, &DataConfig::cache_dir)},
      {"data.image_size", intRange(8), bind(&R::data, &DataConfig::image_size)},
      {kSubsetKey, anyValue(), assignSubset},  // checked by subsetValue()
      {"data.val_fraction", rate(), bind(&R::data, &DataConfig::val_fraction)},
      {"data.test_fraction", rate(), bind(&R::data, &DataConfig::test_fraction)},
      {"data.split_seed", intRange(0, INT64_MAX), bind(&R::data, &DataConfig::split_seed)},
      {"data.align", oneOf({"none", "eyes"}), bind(&R::data, &DataConfig::align)},
      {"data.align_margin", floatRange(0, false, 1, false),
       bind(&R::data, &DataConfig::align_margin)},
      {"data.align_upsample", intRange(1), bind(&R::data, &DataConfig::align_upsample)},
      {"data.cascade_dir", anyValue(), bind(&R::data, &DataConfig::cascade_dir)},
      {"model.name", oneOf(modelNames()), bind(&R::model, &ModelConfig::name)},
      {"model.num_classes", intRange(2), bind(&R::model, &ModelConfig::num_classes)},
      {"model.batch_norm", anyValue(), bind(&R::model, &ModelConfig::batch_norm)},
      {"model.conv_dropout", rate(), bind(&R::model, &ModelConfig::conv_dropout)},
      {"model.fc_dropout", rate(), bind(&R::model, &ModelConfig::fc_dropout)},
      {"model.weights", anyValue(), bind(&R::model, &ModelConfig::weights)},
      {"model.strict_weights", anyValue(), bind(&R::model, &ModelConfig::strict_weights)},
      {"model.input_size", inputSize(), bind(&R::model, &ModelConfig::input_size)},
      {"model.input_channels", oneOf({"replicate", "sum_conv1"}),
       bind(&R::model, &ModelConfig::input_channels)},
      {"augment.hflip", probability(), bind(&R::augment, &AugmentConfig::hflip)},
      {"augment.crop_padding", intRange(0), bind(&R::augment, &AugmentConfig::crop_padding)},
      {"augment.affine", probability(), bind(&R::augment, &AugmentConfig::affine)},
      {"augment.rotation", floatRange(0, false, 180, false),
       bind(&R::augment, &AugmentConfig::rotation)},
      {"augment.translate", rate(), bind(&R::augment, &AugmentConfig::translate)},
      {"augment.scale_min", floatRange(0, true, inf, false),
       bind(&R::augment, &AugmentConfig::scale_min)},
      {"augment.scale_max", floatRange(0, true, inf, false),
       bind(&R::augment, &AugmentConfig::scale_max)},
      {"augment.shear", floatRange(0, false, 180, false), bind(&R::augment, &AugmentConfig::shear)},
      {"augment.jitter", probability(), bind(&R::augment, &AugmentConfig::jitter)},
      {"augment.brightness", probability(), bind(&R::augment, &AugmentConfig::brightness)},
      {"augment.contrast", probability(), bind(&R::augment, &AugmentConfig::contrast)},
      {"augment.erase", probability(), bind(&R::augment, &AugmentConfig::erase)},
      {"augment.erase_area_min", floatRange(0, true, 1, true),
       bind(&R::augment, &AugmentConfig::erase_area_min)},
      {"augment.erase_area_max", floatRange(0, true, 1, true),
       bind(&R::augment, &AugmentConfig::erase_area_max)},
      {"augment.noise_std", nonNegative(), bind(&R::augment, &AugmentConfig::noise_std)},
      {"augment.mixup", probability(), bind(&R::augment, &AugmentConfig::mixup)},
      {"augment.mixup_alpha", floatRange(0, true, inf, false),
       bind(&R::augment, &AugmentConfig::mixup_alpha)},
      {"augment.cutmix", probability(), bind(&R::augment, &AugmentConfig::cutmix)},
      {"augment.cutmix_alpha", floatRange(0, true, inf, false),
       bind(&R::augment, &AugmentConfig::cutmix_alpha)},
      {"balance.method",
       oneOf({"none", "oversample", "undersample", "class_weights", "weighted_sampler", "focal"}),
       bind(&R::balance, &BalanceConfig::method)},
      {"balance.focal_gamma", nonNegative(), bind(&R::balance, &BalanceConfig::focal_gamma)},
      {"train.epochs", intRange(1), bind(&R::train, &TrainConfig::epochs)},
      {"train.batch_size", intRange(1), bind(&R::train, &TrainConfig::batch_size)},
      {"train.optimizer", oneOf({"sgd", "adam", "adamw"}),
       bind(&R::train, &TrainConfig::optimizer)},
      {"train.lr", floatRange(0, true, inf, false), bind(&R::train, &TrainConfig::lr)},
      {"train.momentum", rate(), bind(&R::train, &TrainConfig::momentum)},
      {"train.nesterov", anyValue(), bind(&R::train, &TrainConfig::nesterov)},
      {"train.weight_decay", nonNegative(), bind(&R::train, &TrainConfig::weight_decay)},
      {"train.schedule", oneOf({"none", "step", "cosine", "plateau"}),
       bind(&R::train, &TrainConfig::schedule)},
      {"train.step_size", intRange(1), bind(&R::train, &TrainConfig::step_size)},
      {"train.gamma", floatRange(0, true, 1, false), bind(&R::train, &TrainConfig::gamma)},
      {"train.plateau_patience", intRange(0), bind(&R::train, &TrainConfig::plateau_patience)},
      {"train.min_lr", nonNegative(), bind(&R::train, &TrainConfig::min_lr)},
      {"train.monitor", oneOf({"val_accuracy", "val_macro_f1", "val_loss"}),
       bind(&R::train, &TrainConfig::monitor)},
      {"train.early_stopping", intRange(0), bind(&R::train, &TrainConfig::early_stopping)},
      {"train.label_smoothing", rate(), bind(&R::train, &TrainConfig::label_smoothing)},
      {"train.grad_clip", nonNegative(), bind(&R::train, &TrainConfig::grad_clip)},
      {"train.seed", intRange(0, INT64_MAX), bind(&R::train, &TrainConfig::seed)},
      {"train.device", deviceName(), bind(&R::train, &TrainConfig::device)},
      {"train.threads", intRange(0), bind(&R::train, &TrainConfig::threads)},
      {"train.precision", oneOf({"fp32", "bf16", "fp16"}),
       [](RunConfig& config, const json& value) {
         config.train.precision = parsePrecision(value.get<std::string>());
       }},
      {"train.channels_last", anyValue(), bind(&R::train, &TrainConfig::channels_last)},
      {"eval.batch_size", intRange(1), bind(&R::eval, &EvalConfig::batch_size)},
      {"eval.tta", oneOf({"none", "hflip", "ten_crop"}), bind(&R::eval, &EvalConfig::tta)},
      {"eval.crop_size", intRange(8), bind(&R::eval, &EvalConfig::crop_size)},
  };
}

// Arrays of tables (`[[model.head]]`): the commented example block of each in the default
// table is the schema of its entries, with a check per key like the scalar keys above.

/// Where each key of one array entry was set; a key left at its default is placed at the
/// entry itself (its `[[...]]` header or inline table).
struct EntryOrigins {
  Origin entry;
  std::map<std::string, Origin> keys;

  const Origin& of(const std::string& key) const {
    const auto it = keys.find(key);
    return it == keys.end() ? entry : it->second;
  }
};

/// Rules across the keys and entries of one array, run once it is read; may fill in values.
using Finish = std::function<void(json& entries, const std::vector<EntryOrigins>& origins)>;

template <typename Entry>
struct EntryRule {
  std::string key;
  Check check;
  std::function<void(Entry&, const json&)> assign;
};

struct ArrayRule {
  std::string key;                      ///< "model.head"
  std::map<std::string, Check> checks;  ///< by entry key ("units")
  Assign assign;                        ///< from the JSON array of complete entries
  Finish finish;
};

template <typename Section, typename Entry>
ArrayRule arrayRule(std::string key, Section RunConfig::*section,
                    std::vector<Entry> Section::*field, std::vector<EntryRule<Entry>> entry_rules,
                    Finish finish = {}) {
  ArrayRule rule{std::move(key), {}, {}, std::move(finish)};
  for (const auto& entry_rule : entry_rules) rule.checks.emplace(entry_rule.key, entry_rule.check);
  rule.assign = [=](RunConfig& config, const json& array) {
    auto& entries = (config.*section).*field;
    entries.clear();
    for (const json& element : array) {
      Entry entry;
      for (const auto& entry_rule : entry_rules)
        entry_rule.assign(entry, element.at(entry_rule.key));
      entries.push_back(std::move(entry));
    }
  };
  return rule;
}

/// Phase names default to "phase<N>" (from 1) and must differ; lr and lr_mult exclude each
/// other, since lr_mult only scales train.lr when lr is 0.
void finishPhases(json& phases, const std::vector<EntryOrigins>& origins) {
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < phases.size(); ++i) {
    json& phase = phases[i];
    const std::string prefix = "train.phases[" + std::to_string(i) + "]";
    if (phase["name"].get<std::string>().empty()) phase["name"] = "phase" + std::to_string(i + 1);
    const auto name = phase["name"].get<std::string>();
    if (const auto [it, added] = names.emplace(name, i); !added) {
      fail(origins[i].of("name"), prefix + ".name",
           "duplicate phase name '" + name + "' (also train.phases[" + std::to_string(it->second) +
               "])");
    }
    if (phase["lr"].get<double>() > 0 && phase["lr_mult"].get<double>() != 1.0) {
      fail(origins[i].of("lr_mult"), prefix + ".lr_mult",
           "lr_mult scales train.lr and applies only when lr = 0; set lr or lr_mult, not both");
    }
  }
}

std::vector<ArrayRule> arrayRules() {
  using H = HeadLayerConfig;
  using P = PhaseConfig;
  const double inf = INFINITY;
  return {
      arrayRule<ModelConfig, H>(
          "model.head", &RunConfig::model, &ModelConfig::head,
          {
              {"units", intRange(1), member(&H::units)},
              {"activation", oneOf({"relu", "elu", "gelu", "none"}), member(&H::activation)},
              {"batch_norm", anyValue(), member(&H::batch_norm)},
              {"gaussian_noise", nonNegative(), member(&H::gaussian_noise)},
              {"dropout", rate(), member(&H::dropout)},
          }),
      arrayRule<TrainConfig, P>(
          "train.phases", &RunConfig::train, &TrainConfig::phases,
          {
              {"name", anyValue(), member(&P::name)},  // "" filled in by finishPhases
              {"epochs", intRange(1), member(&P::epochs)},
              {"trainable", trainableList(), member(&P::trainable)},
              {"optimizer", oneOf({"", "sgd", "adam", "adamw"}), member(&P::optimizer)},
              {"lr", nonNegative(), member(&P::lr)},
              {"lr_mult", floatRange(0, true, inf, false), member(&P::lr_mult)},
              {"layer_decay", floatRange(0, true, 1, false), member(&P::layer_decay)},
              {"train_frozen_bn", anyValue(), member(&P::train_frozen_bn)},
          },
          finishPhases),
  };
}

json::json_pointer pointerTo(const std::string& key) {
  const auto dot = key.find('.');
  if (dot == std::string::npos) return json::json_pointer("/" + key);
  return json::json_pointer("/" + key.substr(0, dot) + "/" + key.substr(dot + 1));
}

/// A default value as JSON. Only the types the default table uses can occur: scalars and
/// arrays of strings.
json defaultToJson(const toml::node& node) {
  if (auto s = node.as_string()) return s->get();
  if (auto i = node.as_integer()) return i->get();
  if (auto f = node.as_floating_point()) return f->get();
  if (auto b = node.as_boolean()) return b->get();
  if (auto a = node.as_array(); a != nullptr && a->is_homogeneous(toml::node_type::string)) {
    json strings = json::array();
    for (const toml::node& item : *a) strings.push_back(item.as_string()->get());
    return strings;
  }
  throw std::logic_error("ConfigLoader: unsupported value type in the default table");
}

/// The default table's commented example `# [[model.head]]` block, uncommented ("" when
/// there is none): the schema of that array's entries.
std::string commentedBlock(const std::string& key) {
  std::istringstream lines(kDefaultToml);
  std::string line;
  std::string block;
  const std::string header = "# [[" + key + "]]";
  while (std::getline(lines, line)) {
    if (block.empty()) {
      if (line == header) block = line.substr(2) + "\n";
    } else if (line.compare(0, 2, "# ") == 0) {
      block += line.substr(2) + "\n";
    } else {
      break;
    }
  }
  return block;
}

/// An array of tables: its key, and its entries' keys (relative: "units"), types, checks
/// and defaults.
struct ArrayField {
  std::string key;
  std::vector<Field> entry;  ///< Field::assign unused: the array is assigned as a whole
  json entry_defaults;
  Assign assign;
  Finish finish;

  const Field* find(const std::string& name) const {
    for (const Field& field : entry) {
      if (field.key == name) return &field;
    }
    return nullptr;
  }
};

class Schema {
 public:
  Schema() {
    const toml::table table =
        toml::parse(std::string_view(kDefaultToml), std::string_view("defaults"));
    std::map<std::string, Rule> by_key;
    for (auto& rule : rules()) by_key.emplace(rule.key, std::move(rule));
    for (auto&& [key, node] : table) {
      const std::string name(key.str());
      if (const toml::table* section = node.as_table()) {
        defaults_[name] = json::object();
        for (auto&& [field, value] : *section)
          add(name + "." + std::string(field.str()), value, by_key);
      } else {
        add(name, node, by_key);
      }
    }
    // A rule without a default would silently never apply: a programming error.
    if (!by_key.empty())
      throw std::logic_error("ConfigLoader: rule without default: " + by_key.begin()->first);
    for (ArrayRule& rule : arrayRules()) addArray(std::move(rule));
  }

  const Field* find(const std::string& key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &fields_[it->second];
  }
  bool isSection(const std::string& key) const {
    return defaults_.contains(key) && defaults_[key].is_object();
  }
  const ArrayField* findArray(const std::string& key) const {
    for (const ArrayField& array : arrays_) {
      if (array.key == key) return &array;
    }
    return nullptr;
  }
  const std::vector<Field>& fields() const { return fields_; }
  const std::vector<ArrayField>& arrays() const { return arrays_; }
  const std::vector<std::string>& keys() const { return keys_; }
  /// {"name": ..., "description": ..., "data": {...}, ...}
  const json& defaults() const { return defaults_; }

 private:
  void add(const std::string& key, const toml::node& node, std::map<std::string, Rule>& rules) {
    const auto rule = rules.find(key);
    if (rule == rules.end()) throw std::logic_error("ConfigLoader: default without rule: " + key);
    index_[key] = fields_.size();
    fields_.push_back({key, node.type(), rule->second.check, rule->second.assign});
    keys_.push_back(key);
    defaults_[pointerTo(key)] = defaultToJson(node);
    rules.erase(rule);
  }

  void addArray(ArrayRule rule) {
    const std::string block = commentedBlock(rule.key);
    const toml::table parsed = toml::parse(std::string_view(block), std::string_view("defaults"));
    const toml::array* array = parsed.at_path(rule.key).as_array();
    const toml::table* example = array == nullptr ? nullptr : array->get_as<toml::table>(0);
    if (example == nullptr || !defaults_.contains(rule.key.substr(0, rule.key.find('.')))) {
      throw std::logic_error("ConfigLoader: no commented [[" + rule.key +
                             "]] block in a section of the default table");
    }
    ArrayField field{rule.key, {}, json::object(), std::move(rule.assign), std::move(rule.finish)};
    for (auto&& [name, node] : *example) {
      const std::string key(name.str());
      const auto check = rule.checks.find(key);
      if (check == rule.checks.end())
        throw std::logic_error("ConfigLoader: default without rule: " + rule.key + "." + key);
      field.entry.push_back({key, node.type(), check->second, {}});
      field.entry_defaults[key] = defaultToJson(node);
      rule.checks.erase(check);
    }
    if (!rule.checks.empty()) {
      throw std::logic_error("ConfigLoader: rule without default: " + rule.key + "." +
                             rule.checks.begin()->first);
    }
    defaults_[pointerTo(rule.key)] = json::array();
    arrays_.push_back(std::move(field));
  }

  std::vector<Field> fields_;
  std::vector<ArrayField> arrays_;
  std::map<std::string, std::size_t> index_;
  std::vector<std::string> keys_;
  json defaults_ = json::object();
};

const Schema& schema() {
  static const Schema instance;
  return instance;
}

// ---------------------------------------------------------------------------------------
// Values: type check, conversion to JSON, range check

/// Which names an unknown key is compared with for a suggestion.
enum class KeyScope {
  kSectionKeys,   ///< "section.key" only: inside a section, and grid keys
  kSettableKeys,  ///< every schema key, name and description included: --set
  kTopLevel,      ///< also the section names, include and grid: a file's top level
};

std::vector<std::string> knownKeys(KeyScope scope) {
  std::vector<std::string> keys;
  for (const std::string& key : schema().keys()) {
    if (scope != KeyScope::kSectionKeys || key.find('.') != std::string::npos) keys.push_back(key);
  }
  for (const ArrayField& array : schema().arrays()) keys.push_back(array.key);
  if (scope == KeyScope::kTopLevel) {
    for (const auto& [key, value] : schema().defaults().items()) {
      if (value.is_object()) keys.push_back(key);
    }
    keys.push_back("include");
    keys.push_back("grid");
  }
  return keys;
}

[[noreturn]] void failUnknown(const Origin& origin, const std::string& key, KeyScope scope,
                              const std::string& kind = "key") {
  failAt(origin, "unknown " + kind + " '" + key + "'" + didYouMean(key, knownKeys(scope)));
}

[[noreturn]] void failType(const Origin& origin, const std::string& key,
                           const std::string& expected, const toml::node& node) {
  fail(origin, key, "expected " + expected + ", got " + typeName(node.type()));
}

json floatValue(const toml::node& node, const std::string& key, const Origin& origin) {
  double value = 0;
  if (auto f = node.as_floating_point()) {
    value = f->get();
  } else if (auto i = node.as_integer()) {
    value = static_cast<double>(i->get());
  } else {
    failType(origin, key, "a float", node);
  }
  // NaN and infinities have no JSON form and no meaning as a hyperparameter.
  if (!std::isfinite(value))
    fail(origin, key, "expected a finite float, got " + formatNumber(value));
  return value;
}

/// data.subset: a fraction in (0, 1] or an integer count of training images. The integer 1
/// means "everything", like 1.0, so both resolve to the float 1.0 and hash the same.
json subsetValue(const toml::node& node, const Origin& origin) {
  const std::string expected = "a fraction in (0, 1] or an integer count >= 1";
  if (auto i = node.as_integer()) {
    if (i->get() < 1)
      fail(origin, kSubsetKey, "expected " + expected + ", got " + std::to_string(i->get()));
    return i->get() == 1 ? json(1.0) : json(i->get());
  }
  if (!node.is_floating_point()) failType(origin, kSubsetKey, expected, node);
  const json value = floatValue(node, kSubsetKey, origin);
  const double x = value.get<double>();
  if (!(x > 0 && x <= 1))
    fail(origin, kSubsetKey, "expected " + expected + ", got " + formatNumber(x));
  return value;
}

/// A list of strings (the default is an array of strings); one string stands for a list
/// of one, so `trainable = "head"` is `trainable = ["head"]`.
json stringListValue(const toml::node& node, const std::string& key, const Origin& origin) {
  const std::string expected = "a string or a non-empty array of strings";
  if (auto s = node.as_string()) return json::array({s->get()});
  const toml::array* items = node.as_array();
  if (items == nullptr) failType(origin, key, expected, node);
  if (items->empty()) fail(origin, key, "expected " + expected + ", got an empty array");
  json list = json::array();
  for (std::size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    if (!item.is_string()) {
      failType(Origin::at(origin.file, item.source()), key + "[" + std::to_string(i) + "]",
               "a string", item);
    }
    list.push_back(item.as_string()->get());
  }
  return list;
}

/// The value in canonical JSON form if it has the type `type` of the default; `key` names
/// it in errors.
json typedValue(const toml::node& node, toml::node_type type, const std::string& key,
                const Origin& origin) {
  switch (type) {
    case toml::node_type::floating_point:
      return floatValue(node, key, origin);
    case toml::node_type::integer:
      if (!node.is_integer()) failType(origin, key, "an integer", node);
      return node.as_integer()->get();
    case toml::node_type::boolean:
      if (!node.is_boolean()) failType(origin, key, "a boolean", node);
      return node.as_boolean()->get();
    case toml::node_type::string:
      if (!node.is_string()) failType(origin, key, "a string", node);
      return node.as_string()->get();
    case toml::node_type::array:
      return stringListValue(node, key, origin);
    default:
      throw std::logic_error("ConfigLoader: unexpected default type for " + key);
  }
}

/// `model.head` and `model.head[0].units` -> the model.head array; else nullptr.
const ArrayField* arrayOf(const std::string& key) {
  for (const ArrayField& array : schema().arrays()) {
    const std::size_t n = array.key.size();
    if (key.compare(0, n, array.key) == 0 && (key.size() == n || key[n] == '[' || key[n] == '.')) {
      return &array;
    }
  }
  return nullptr;
}

/// Validates one value for `key` and returns it in canonical JSON form.
json validateValue(const std::string& key, const toml::node& node, const Origin& origin) {
  const Field* field = schema().find(key);
  if (field == nullptr) failUnknown(origin, key, KeyScope::kSettableKeys);
  json value =
      key == kSubsetKey ? subsetValue(node, origin) : typedValue(node, field->type, key, origin);
  if (const std::string why = field->check(value); !why.empty()) fail(origin, key, why);
  return value;
}

/// Validates one key of an array entry; `full_key` ("model.head[1].units") names it.
json validateEntryValue(const Field& field, const std::string& full_key, const toml::node& node,
                        const Origin& origin) {
  json value = typedValue(node, field.type, full_key, origin);
  if (const std::string why = field.check(value); !why.empty()) fail(origin, full_key, why);
  return value;
}

// ---------------------------------------------------------------------------------------
// Reading files into layers of settings

/// One validated value and where it was set.
struct Setting {
  std::string key;
  json value;
  Origin origin;
};

/// One grid dimension: a key and its validated values, in file order.
struct Axis {
  std::string key;
  std::string file;  ///< the file that declared it, to tell a redefinition from a duplicate
  std::vector<Setting> values;
};

/// Everything the sources set, in the order it applies (includes, file, --set).
struct Layers {
  std::vector<Setting> settings;
  std::vector<Axis> grid;
};

/// The file's text; `error_prefix` starts the message when it cannot be read.
std::string readFile(const std::string& path, const std::string& error_prefix) {
  std::error_code error;
  if (fs::is_directory(path, error)) throw ConfigError(error_prefix + "is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(error_prefix + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

toml::table parseToml(const std::string& text, const std::string& source) {
  try {
    return toml::parse(std::string_view(text), std::string_view(source));
  } catch (const toml::parse_error& error) {
    throw ConfigError(Origin::at(source, error.source()).where() +
                      ": TOML syntax error: " + std::string(error.description()));
  }
}

/// The table's entries in file order (toml++ iterates tables in key order), so errors are
/// reported top to bottom and grid axes keep the order they were written in.
std::vector<std::pair<const toml::key*, const toml::node*>> inFileOrder(const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, node] : table) entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

class LayerReader {
 public:
  explicit LayerReader(Layers& layers) : layers_(layers) {}

  /// Reads the experiment file itself; included files are read through read().
  void readRoot(const std::string& text, const std::string& source) {
    stack_.push_back(canonical(source));
    read(text, source);
  }

 private:
  static std::string canonical(const std::string& path) {
    std::error_code error;
    const fs::path resolved = fs::weakly_canonical(path, error);
    return error ? path : resolved.string();
  }

  /// Reads `text` (named `source`), its includes first, into the layers.
  void read(const std::string& text, const std::string& source) {
    const toml::table table = parseToml(text, source);
    if (const toml::node* include = table.get("include")) readIncludes(*include, source);
    for (const auto& [key, node] : inFileOrder(table)) {
      const std::string name(key->str());
      if (name == "include") continue;
      if (name == "grid") {
        readGrid(*key, *node, source);
      } else if (schema().isSection(name)) {
        readSection(name, *node, source);
      } else if (schema().find(name) == nullptr) {
        failUnknown(Origin::at(source, key->source()), name, KeyScope::kTopLevel);
      } else {
        const Origin origin = Origin::at(source, node->source());
        layers_.settings.push_back({name, validateValue(name, *node, origin), origin});
      }
    }
  }

  void readIncludes(const toml::node& include, const std::string& source) {
    const Origin origin = Origin::at(source, include.source());
    const toml::array* paths = include.as_array();
    if (paths == nullptr) failType(origin, "include", "an array of file paths", include);
    for (const toml::node& entry : *paths) {
      const Origin at = Origin::at(source, entry.source());
      if (!entry.is_string()) failType(at, "include", "an array of file paths", entry);
      const std::string path =
          (fs::path(source).parent_path() / entry.as_string()->get()).lexically_normal().string();
      readIncluded(path, at);
    }
  }

  void readIncluded(const std::string& path, const Origin& at) {
    const std::string id = canonical(path);
    if (std::find(stack_.begin(), stack_.end(), id) != stack_.end()) {
      fail(at, "include", "'" + path + "' includes itself (include cycle)");
    }
    const std::string text = readFile(path, at.where() + ": include: cannot read '" + path + "': ");
    stack_.push_back(id);
    read(text, path);
    stack_.pop_back();
  }

  void readSection(const std::string& section, const toml::node& node, const std::string& source) {
    const toml::table* table = node.as_table();
    if (table == nullptr) failType(Origin::at(source, node.source()), section, "a table", node);
    for (const auto& [key, value] : inFileOrder(*table)) {
      const std::string full = section + "." + std::string(key->str());
      if (const ArrayField* array = schema().findArray(full)) {
        layers_.settings.push_back(readArray(*array, *value, source));
        continue;
      }
      if (schema().find(full) == nullptr)
        failUnknown(Origin::at(source, key->source()), full, KeyScope::kSectionKeys);
      const Origin origin = Origin::at(source, value->source());
      layers_.settings.push_back({full, validateValue(full, *value, origin), origin});
    }
  }

  /// `[[model.head]]` tables (or `head = [{...}, ...]`) -> one setting holding the whole
  /// array, every entry complete with defaults, so it replaces an included array as a whole.
  static Setting readArray(const ArrayField& array, const toml::node& node,
                           const std::string& source) {
    const Origin origin = Origin::at(source, node.source());
    const toml::array* elements = node.as_array();
    if (elements == nullptr)
      failType(origin, array.key, "an array of tables ([[" + array.key + "]])", node);
    json entries = json::array();
    std::vector<EntryOrigins> origins;
    for (std::size_t i = 0; i < elements->size(); ++i) {
      const toml::node& element = *elements->get(i);
      const std::string prefix = array.key + "[" + std::to_string(i) + "]";
      EntryOrigins where{Origin::at(source, element.source()), {}};
      const toml::table* table = element.as_table();
      if (table == nullptr) failType(where.entry, prefix, "a table", element);
      std::vector<std::string> known;
      for (const Field& field : array.entry) known.push_back(prefix + "." + field.key);
      json entry = array.entry_defaults;
      for (const auto& [key, value] : inFileOrder(*table)) {
        const std::string name(key->str());
        const std::string full = prefix + "." + name;
        const Field* field = array.find(name);
        if (field == nullptr) {
          failAt(Origin::at(source, key->source()),
                 "unknown key '" + full + "'" + didYouMean(full, known));
        }
        const Origin at = Origin::at(source, value->source());
        entry[name] = validateEntryValue(*field, full, *value, at);
        where.keys.emplace(name, at);
      }
      entries.push_back(std::move(entry));
      origins.push_back(std::move(where));
    }
    if (array.finish) array.finish(entries, origins);
    return {array.key, std::move(entries), origin};
  }

  struct Leaf {
    std::string key;
    const toml::key* name;
    const toml::node* node;
  };

  // Grid keys may be dotted strings ("train.lr") or nested tables ([grid.train] lr), or both.
  void collectLeaves(const toml::table& table, const std::string& prefix,
                     std::vector<Leaf>& leaves) {
    for (auto&& [key, node] : table) {
      const std::string full =
          prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
      if (const toml::table* nested = node.as_table()) {
        collectLeaves(*nested, full, leaves);
      } else {
        leaves.push_back({full, &key, &node});
      }
    }
  }

  void readGrid(const toml::key& key, const toml::node& node, const std::string& source) {
    const toml::table* table = node.as_table();
    if (table == nullptr) failType(Origin::at(source, key.source()), "grid", "a table", node);
    std::vector<Leaf> leaves;
    collectLeaves(*table, "", leaves);
    std::stable_sort(leaves.begin(), leaves.end(), [](const Leaf& a, const Leaf& b) {
      const auto& pa = a.name->source().begin;
      const auto& pb = b.name->source().begin;
      return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
    });
    for (const Leaf& leaf : leaves) addAxis(readAxis(leaf, source));
  }

  Axis readAxis(const Leaf& leaf, const std::string& source) {
    const Origin key_origin = Origin::at(source, leaf.name->source());
    if (const ArrayField* array = arrayOf(leaf.key)) {
      failAt(key_origin, "grid key '" + leaf.key + "': grid keys must be scalar keys, and " +
                             array->key + " is an array of tables; write each [[" + array->key +
                             "]] variant in its own experiment file (sharing the rest through "
                             "include)");
    }
    if (leaf.key.find('.') == std::string::npos || schema().find(leaf.key) == nullptr) {
      failUnknown(key_origin, leaf.key, KeyScope::kSectionKeys, "grid key");
    }
    const Origin origin = Origin::at(source, leaf.node->source());
    const std::string grid_key = "grid." + leaf.key;
    const toml::array* values = leaf.node->as_array();
    if (values == nullptr) failType(origin, grid_key, "an array of values", *leaf.node);
    if (values->empty()) fail(origin, grid_key, "expected a non-empty array of values");
    Axis axis{leaf.key, source, {}};
    for (const toml::node& element : *values) {
      const Origin at = Origin::at(source, element.source());
      json value = validateValue(leaf.key, element, at);
      for (const Setting& seen : axis.values) {
        if (seen.value == value) fail(at, grid_key, "duplicate value " + value.dump());
      }
      axis.values.push_back({leaf.key, std::move(value), at});
    }
    return axis;
  }

  // A grid axis in the including file replaces the same axis from an include, in place.
  void addAxis(Axis axis) {
    for (Axis& existing : layers_.grid) {
      if (existing.key != axis.key) continue;
      if (existing.file == axis.file) {
        fail(axis.values.front().origin, "grid." + axis.key, "grid key given twice");
      }
      existing = std::move(axis);
      return;
    }
    layers_.grid.push_back(std::move(axis));
  }

  Layers& layers_;
  std::vector<std::string> stack_;
};

// ---------------------------------------------------------------------------------------
// --set overrides

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

/// "key=value" -> Setting. The value is TOML when it parses as one, else a bare string, so
/// `--set model.name=vggnet` works without shell-escaped quotes.
Setting parseOverride(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == std::string::npos) {
    throw ConfigError("--set " + text + ": expected key=value");
  }
  const std::string key = trim(text.substr(0, equals));
  const std::string raw = trim(text.substr(equals + 1));
  const Origin origin = Origin::flag(key);
  if (key.empty()) throw ConfigError("--set " + text + ": expected key=value, the key is empty");
  if (const ArrayField* array = arrayOf(key)) {
    fail(origin, key,
         array->key + " is an array of tables, which --set cannot change; edit the [[" +
             array->key + "]] tables in the experiment file");
  }
  if (schema().find(key) == nullptr) failUnknown(origin, key, KeyScope::kSettableKeys);
  toml::table parsed;
  try {
    parsed = toml::parse(std::string_view("v = " + raw), std::string_view("--set"));
  } catch (const toml::parse_error&) {
  }
  const toml::node* node = parsed.size() == 1 ? parsed.get("v") : nullptr;
  if (node == nullptr) {
    // TOML text is checked for UTF-8 by the parser; a bare string is not, and the JSON
    // record of the run cannot hold anything else.
    try {
      (void)json(raw).dump();
    } catch (const json::exception&) {
      fail(origin, key, "the value is not valid UTF-8");
    }
    const toml::value<std::string> bare(raw);
    return {key, validateValue(key, bare, origin), origin};
  }
  return {key, validateValue(key, *node, origin), origin};
}

// ---------------------------------------------------------------------------------------
// Resolution: defaults <- model defaults <- settings <- grid cell

void applyModelDefaults(json& config, const std::string& model) {
  for (const ModelDefaults& defaults : kModelDefaults) {
    if (model != defaults.name) continue;
    config["model"]["batch_norm"] = defaults.batch_norm;
    config["model"]["conv_dropout"] = defaults.conv_dropout;
    config["model"]["fc_dropout"] = defaults.fc_dropout;
  }
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
    for (const Field& field : schema().fields())
      field.assign(run.config, config[pointerTo(field.key)]);
    for (const ArrayField& array : schema().arrays())
      array.assign(run.config, config[pointerTo(array.key)]);
    run.resolved_json = config.dump();
    run.config_hash = core::hashHex(run.resolved_json);
    for (const Field& field : schema().fields()) {
      if (field.key.find('.') != std::string::npos) {
        run.params.emplace_back(field.key, valueText(config[pointerTo(field.key)]));
      }
    }
    // Arrays flatten per entry and key: ("model.head[0].units", "128"); a list value
    // (train.phases[0].trainable) stays JSON: ["layer4","head"].
    for (const ArrayField& array : schema().arrays()) {
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

Experiment resolveExperiment(Layers layers, const std::string& source,
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

  Experiment experiment;
  experiment.source = source;
  for (const Axis& axis : layers.grid) experiment.grid_keys.push_back(axis.key);
  const Resolver resolver(layers, source, default_name);
  const auto cells = gridCells(layers.grid);
  for (std::size_t i = 0; i < cells.size(); ++i) {
    experiment.runs.push_back(resolver.resolve(cells[i], static_cast<int>(i)));
  }
  experiment.name = experiment.runs.front().config.experiment;
  return experiment;
}

}  // namespace

Experiment loadExperiment(const std::string& path, const std::vector<std::string>& overrides) {
  return parseExperiment(readFile(path, path + ": cannot read file: "), path, overrides);
}

Experiment parseExperiment(const std::string& toml_text, const std::string& source,
                           const std::vector<std::string>& overrides) {
  Layers layers;
  LayerReader(layers).readRoot(toml_text, source);
  return resolveExperiment(std::move(layers), source, overrides);
}

std::string defaultConfigToml() {
  return kDefaultToml;
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
  for (const Field& field : schema().fields()) {
    try {
      field.assign(run, config[pointerTo(field.key)]);
    } catch (const json::exception& error) {
      throw ConfigError(source + ": stored config key " + field.key + ": " + error.what());
    }
  }
  for (const ArrayField& array : schema().arrays()) {
    try {
      array.assign(run, config[pointerTo(array.key)]);
    } catch (const json::exception& error) {
      throw ConfigError(source + ": stored config key " + array.key + ": " + error.what());
    }
  }
  return run;
}

}  // namespace ferlab::config
