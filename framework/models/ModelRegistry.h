#pragma once
// Builds a classifier from `[model]` by name (config::ModelName; config::isImageNetBackbone
// tells the two families apart).
//   From scratch: simple_cnn, vggnet, elu_cnn, fast_cnn (see their headers for architecture and
//   source). ImageNet backbones with a new head (TransferModel.h): vgg16, vgg16_bn, vgg19,
//   vgg19_bn, resnet18, resnet50, mobilenet_v2 (torchvision), xception (timm's legacy_xception),
//   with weights from `model.weights` (WeightFile.h) or, loudly, from random initialisation.

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

/// The least fraction of the backbone's tensors (parameters and buffers, counted as tensors,
/// not scalars) that a weight file must fill when model.strict_weights is false. Below it the
/// file is taken for one of another architecture (a MobileNetV2 .pth named for a ResNet-18
/// fills none of it), and makeModel throws rather than train from random initialisation
/// under a "pretrained" label. 0.9 leaves room for a file that lacks a few buffers (e.g.
/// BatchNorm's num_batches_tracked, absent from files saved by PyTorch < 0.4.1).
inline constexpr double kMinBackboneTensorsLoaded = 0.9;

/// How many of the backbone's tensors a weight file filled: `loaded` of `total`. Both -1 for
/// a from-scratch network or an ImageNet backbone without a weight file.
struct BackboneWeights {
  std::int64_t loaded = -1, total = -1;
};

/// A model for grey `image_size` x `image_size` inputs, on the CPU. Initialisation draws
/// from LibTorch's global generator: seed it first for reproducibility. Backbone weights
/// come from config.weights when set (a torchvision / timm .pth or .safetensors file; the
/// file's classifier is skipped); `weights`, when given, receives how many backbone tensors
/// it filled. Throws ConfigError (unknown name, image size the network cannot take),
/// DataError (unreadable weight file), TrainError naming the file, the count and the first
/// missing keys when the file fills none of the backbone's tensors or fewer than
/// kMinBackboneTensorsLoaded of them (strict_weights = false), or when strict_weights is set
/// and any key is missing or of the wrong shape.
ClassifierPtr makeModel(const config::ModelConfig& config, int image_size,
                        const InputNormalization& input = {}, BackboneWeights* weights = nullptr);

/// Number of scalar parameters (trainable and frozen).
std::int64_t parameterCount(const torch::nn::Module& module);

}  // namespace ferlab::models
