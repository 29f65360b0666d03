#include "framework/models/ModelRegistry.h"

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/models/EluCnn.h"
#include "framework/models/SimpleCnn.h"
#include "framework/models/VggNet.h"

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

}  // namespace

const std::vector<std::string>& modelNames() {
  static const std::vector<std::string> names = {"simple_cnn", "vggnet", "elu_cnn"};
  return names;
}

ClassifierPtr makeModel(const config::ModelConfig& config, int image_size) {
  if (config.name == "simple_cnn") {
    return SimpleCnn(commonOptions<SimpleCnnOptions>(config, image_size)).ptr();
  }
  if (config.name == "vggnet") {
    return VggNet(commonOptions<VggNetOptions>(config, image_size)).ptr();
  }
  if (config.name == "elu_cnn") {
    return EluCnn(commonOptions<EluCnnOptions>(config, image_size)).ptr();
  }
  throw ConfigError(fmt::format("model.name: unknown model '{}' (expected one of {})", config.name,
                                fmt::join(modelNames(), ", ")));
}

std::int64_t parameterCount(const torch::nn::Module& module) {
  std::int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

}  // namespace ferlab::models
