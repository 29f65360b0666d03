#pragma once
// Builds a classifier from `[model]` by name (config::ModelName; config::isImageNetBackbone
// tells the two families apart).
//   From scratch: simple_cnn, vggnet, elu_cnn (see their headers for architecture and source).
//   ImageNet backbones with a new head (TransferModel.h): vgg16, vgg16_bn, vgg19, vgg19_bn,
//   resnet18, resnet50, mobilenet_v2 (torchvision), xception (timm's legacy_xception), with
//   weights from `model.weights` (WeightFile.h) or, loudly, from random initialisation.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/config/RunConfig.h"
#include "framework/models/Classifier.h"

namespace ferlab::models {

using ClassifierPtr = std::shared_ptr<ClassifierImpl>;

/// The normalisation the training data had before it reached the model (DeviceDataset):
/// a transfer model undoes it to apply ImageNet's statistics instead.
struct InputNormalization {
  float mean = 0.5f, std = 0.25f;
};

/// A model for grey `image_size` x `image_size` inputs, on the CPU. Initialisation draws
/// from LibTorch's global generator: seed it first for reproducibility. Backbone weights
/// come from config.weights when set (a torchvision / timm .pth or .safetensors file; the
/// file's classifier is skipped). Throws ConfigError (unknown name, image size the network
/// cannot take), DataError (unreadable weight file), TrainError (strict_weights and a key
/// missing or of the wrong shape).
ClassifierPtr makeModel(const config::ModelConfig& config, int image_size,
                        const InputNormalization& input = {});

/// Number of scalar parameters (trainable and frozen).
std::int64_t parameterCount(const torch::nn::Module& module);

}  // namespace ferlab::models
