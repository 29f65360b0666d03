#include "framework/models/ModelRegistry.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/models/EluCnn.h"
#include "framework/models/FastCnn.h"
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
std::shared_ptr<BackboneImpl> makeBackbone(config::ModelName name) {
  using config::ModelName;
  VggOptions vgg;
  vgg.include_top = false;
  ResNetOptions resnet;
  resnet.include_top = false;
  switch (name) {
    case ModelName::Vgg16:
    case ModelName::Vgg16Bn:
    case ModelName::Vgg19:
    case ModelName::Vgg19Bn:
      vgg.depth = name == ModelName::Vgg16 || name == ModelName::Vgg16Bn ? 16 : 19;
      vgg.batch_norm = name == ModelName::Vgg16Bn || name == ModelName::Vgg19Bn;
      return Vgg(vgg).ptr();
    case ModelName::ResNet18:
    case ModelName::ResNet50:
      resnet.depth = name == ModelName::ResNet18 ? 18 : 50;
      return ResNet(resnet).ptr();
    case ModelName::MobileNetV2: {
      MobileNetV2Options options;
      options.include_top = false;
      return MobileNetV2(options).ptr();
    }
    case ModelName::Xception: {
      XceptionOptions options;
      options.include_top = false;
      return Xception(options).ptr();
    }
    case ModelName::SimpleCnn:
    case ModelName::VggNet:
    case ModelName::EluCnn:
    case ModelName::FastCnn:
      break;
  }
  throw std::logic_error(std::string("makeBackbone: not an ImageNet backbone: ") +
                         config::choiceName(name));
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
        config::choiceName(config.name));
    return {};
  }
  const auto report = loadStateDict(backbone, readWeightFile(config.weights), /*strict=*/false);
  if (config.strict_weights && (!report.missing.empty() || !report.mismatched.empty())) {
    throw TrainError(
        fmt::format("{}: does not fit {} (model.strict_weights): missing [{}], wrong shape [{}]",
                    config.weights, config::choiceName(config.name), listed(report.missing),
                    listed(report.mismatched)));
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
            config.weights, report.loaded.size(), config::choiceName(config.name),
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
  if (config.name == config::ModelName::Xception) {
    // timm's legacy_xception was trained on inputs scaled to [-1, 1] (mean = std = 0.5).
    options.rgb_mean = {0.5f, 0.5f, 0.5f};
    options.rgb_std = {0.5f, 0.5f, 0.5f};
  }
  return TransferModel(backbone, options).ptr();
}

}  // namespace

ClassifierPtr makeModel(const config::ModelConfig& config, int image_size,
                        const InputNormalization& input, BackboneWeights* weights) {
  using config::ModelName;
  if (weights != nullptr) *weights = {};
  switch (config.name) {
    case ModelName::SimpleCnn:
      return SimpleCnn(commonOptions<SimpleCnnOptions>(config, image_size)).ptr();
    case ModelName::VggNet:
      return VggNet(commonOptions<VggNetOptions>(config, image_size)).ptr();
    case ModelName::EluCnn:
      return EluCnn(commonOptions<EluCnnOptions>(config, image_size)).ptr();
    case ModelName::FastCnn:
      return FastCnn(commonOptions<FastCnnOptions>(config, image_size)).ptr();
    case ModelName::Vgg16:
    case ModelName::Vgg16Bn:
    case ModelName::Vgg19:
    case ModelName::Vgg19Bn:
    case ModelName::ResNet18:
    case ModelName::ResNet50:
    case ModelName::MobileNetV2:
    case ModelName::Xception:
      return makeTransferModel(config, image_size, input, weights);
  }
  throw std::logic_error("makeModel: unhandled model.name");
}

std::int64_t parameterCount(const torch::nn::Module& module) {
  std::int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

}  // namespace ferlab::models
