#include "framework/models/ModelRegistry.h"

#include <algorithm>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/models/EluCnn.h"
#include "framework/models/SimpleCnn.h"
#include "framework/models/TransferModel.h"
#include "framework/models/VggNet.h"
#include "framework/models/WeightFile.h"
#include "framework/models/backbones/MobileNetV2.h"
#include "framework/models/backbones/ResNet.h"
#include "framework/models/backbones/Vgg.h"
#include "framework/models/backbones/Xception.h"

namespace ferlab::models {
namespace {

// Fills the fields every from-scratch option struct shares.
template <typename Options>
Options commonOptions(const config::ModelConfig& config, int image_size) {
  Options options;
  options.image_size = image_size;
  options.num_classes = config.num_classes;
  options.batch_norm = config.batch_norm;
  options.conv_dropout = config.conv_dropout;
  options.fc_dropout = config.fc_dropout;
  return options;
}

// The backbone without its ImageNet classifier (include_top = false).
std::shared_ptr<BackboneImpl> makeBackbone(const std::string& name) {
  if (name.rfind("vgg1", 0) == 0) {
    VggOptions options;
    options.depth = name.rfind("vgg19", 0) == 0 ? 19 : 16;
    options.batch_norm = name.size() > 3 && name.compare(name.size() - 3, 3, "_bn") == 0;
    options.include_top = false;
    return Vgg(options).ptr();
  }
  if (name == "resnet18" || name == "resnet50") {
    ResNetOptions options;
    options.depth = name == "resnet18" ? 18 : 50;
    options.include_top = false;
    return ResNet(options).ptr();
  }
  if (name == "mobilenet_v2") {
    MobileNetV2Options options;
    options.include_top = false;
    return MobileNetV2(options).ptr();
  }
  XceptionOptions options;
  options.include_top = false;
  return Xception(options).ptr();
}

std::string listed(const std::vector<std::string>& names) {
  constexpr std::size_t kShown = 8;
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(kShown, names.size()));
  return fmt::format(
      "{}{}", fmt::join(shown, ", "),
      names.size() > kShown ? fmt::format(" and {} more", names.size() - kShown) : "");
}

// Loads config.weights into the backbone and returns how many of its tensors the file
// filled. The file's own classifier (torchvision's classifier.* / fc.*, timm's fc.*) is not
// part of the backbone: reported, never an error. A file that fills fewer than
// kMinBackboneTensorsLoaded of the backbone is an error even when not strict.
BackboneWeights loadBackboneWeights(BackboneImpl& backbone, const config::ModelConfig& config) {
  if (config.weights.empty()) {
    log::warn(
        "model.weights is empty: {} starts from RANDOM initialisation (pretrained = false); "
        "see README \"ImageNet weights\" for where to get the weight files",
        config.name);
    return {};
  }
  const auto report = loadStateDict(backbone, readWeightFile(config.weights), /*strict=*/false);
  if (config.strict_weights && (!report.missing.empty() || !report.mismatched.empty())) {
    throw TrainError(fmt::format(
        "{}: does not fit {} (model.strict_weights): missing [{}], wrong shape [{}]",
        config.weights, config.name, listed(report.missing), listed(report.mismatched)));
  }
  BackboneWeights counts;
  counts.loaded = static_cast<std::int64_t>(report.loaded.size());
  counts.total = static_cast<std::int64_t>(report.loaded.size() + report.missing.size() +
                                           report.mismatched.size());
  if (counts.loaded == 0 ||
      static_cast<double>(counts.loaded) < kMinBackboneTensorsLoaded * counts.total) {
    // loadStateDict has copied what matched; the model is discarded with the exception.
    throw TrainError(fmt::format(
        "{}: not a weight file for {}: it fills {} of the backbone's {} tensors, fewer than "
        "the {:.0f}% needed (a file for another architecture?); {} missing [{}], {} of the "
        "wrong shape [{}]",
        config.weights, config.name, counts.loaded, counts.total, 100 * kMinBackboneTensorsLoaded,
        report.missing.size(), listed(report.missing), report.mismatched.size(),
        listed(report.mismatched)));
  }
  log::info("{}: loaded {} tensors into {}; skipped from the file (not part of the backbone): {}",
            config.weights, report.loaded.size(), config.name,
            report.unexpected.empty() ? "none" : listed(report.unexpected));
  if (!report.missing.empty() || !report.mismatched.empty()) {
    log::warn(
        "{}: {} backbone tensors kept their random initialisation: missing [{}], wrong shape [{}]",
        config.weights, report.missing.size() + report.mismatched.size(), listed(report.missing),
        listed(report.mismatched));
  }
  return counts;
}

ClassifierPtr makeTransferModel(const config::ModelConfig& config, int image_size,
                                const InputNormalization& input, BackboneWeights* weights) {
  auto backbone = makeBackbone(config.name);
  const BackboneWeights loaded = loadBackboneWeights(*backbone, config);
  if (weights != nullptr) *weights = loaded;
  TransferModelOptions options;
  options.image_size = image_size;
  options.input_size = config.input_size;
  options.input_channels = config.input_channels;
  options.pretrained = !config.weights.empty();
  options.data_mean = input.mean;
  options.data_std = input.std;
  options.head = config.head;
  options.num_classes = config.num_classes;
  if (config.name == "xception") {
    // timm's legacy_xception was trained on inputs scaled to [-1, 1] (mean = std = 0.5).
    options.rgb_mean = {0.5f, 0.5f, 0.5f};
    options.rgb_std = {0.5f, 0.5f, 0.5f};
  }
  return TransferModel(backbone, options).ptr();
}

}  // namespace

const std::vector<std::string>& modelNames() {
  static const std::vector<std::string> names = {
      "simple_cnn", "vggnet",   "elu_cnn",  "vgg16",        "vgg16_bn", "vgg19",
      "vgg19_bn",   "resnet18", "resnet50", "mobilenet_v2", "xception"};
  return names;
}

bool isImageNetBackbone(const std::string& name) {
  const auto& names = modelNames();
  return std::find(names.begin() + 3, names.end(), name) != names.end();
}

ClassifierPtr makeModel(const config::ModelConfig& config, int image_size,
                        const InputNormalization& input, BackboneWeights* weights) {
  if (weights != nullptr) *weights = {};
  if (config.name == "simple_cnn") {
    return SimpleCnn(commonOptions<SimpleCnnOptions>(config, image_size)).ptr();
  }
  if (config.name == "vggnet") {
    return VggNet(commonOptions<VggNetOptions>(config, image_size)).ptr();
  }
  if (config.name == "elu_cnn") {
    return EluCnn(commonOptions<EluCnnOptions>(config, image_size)).ptr();
  }
  if (isImageNetBackbone(config.name)) return makeTransferModel(config, image_size, input, weights);
  throw ConfigError(fmt::format("model.name: unknown model '{}' (expected one of {})", config.name,
                                fmt::join(modelNames(), ", ")));
}

std::int64_t parameterCount(const torch::nn::Module& module) {
  std::int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

}  // namespace ferlab::models
