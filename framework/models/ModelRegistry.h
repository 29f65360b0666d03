#pragma once
// Builds a classifier from `[model]` by name. The from-scratch family: simple_cnn, vggnet,
// elu_cnn (see their headers for architecture and source).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/config/RunConfig.h"
#include "framework/models/Classifier.h"

namespace ferlab::models {

using ClassifierPtr = std::shared_ptr<ClassifierImpl>;

/// Names accepted by makeModel, in documentation order.
const std::vector<std::string>& modelNames();

/// A freshly initialised model for grey `image_size` x `image_size` inputs, on the CPU.
/// Initialisation draws from LibTorch's global generator: seed it first for reproducibility.
/// Throws ConfigError for an unknown name or an image size the network cannot take.
ClassifierPtr makeModel(const config::ModelConfig& config, int image_size);

/// Number of scalar parameters (trainable and frozen).
std::int64_t parameterCount(const torch::nn::Module& module);

}  // namespace ferlab::models
