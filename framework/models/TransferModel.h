#pragma once
// An ImageNet backbone with a new head for FER: grey input adapted to the 3-channel RGB the
// backbone expects, resized on the device, global average pooling, the configured hidden
// layers, then the classifier (the seeds' transfer-learning setup: GAP + dense 128 ReLU +
// dropout + softmax, or dense layers with batch-norm and Gaussian noise).
//
// Input adaptation (`model.input_channels`):
//   replicate  the grey image three times, then ImageNet mean/std per channel when pretrained
//              (the seeds')
//   sum_conv1  the first convolution's pretrained RGB filters summed into one input channel
//              (timm's adapt_input_conv), input normalised with the channel means of the
//              RGB mean/std (0.449, 0.226 for ImageNet)
// Parameter names: "backbone.<torchvision name>", "head.<i>...", "classifier.*".

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "framework/config/RunConfig.h"
#include "framework/models/Backbone.h"
#include "framework/models/Classifier.h"

namespace ferlab::models {

/// Keras' GaussianNoise layer: adds N(0, std^2) noise in training, identity in eval.
/// Input and output float32 of any shape.
class GaussianNoiseImpl : public torch::nn::Module {
 public:
  explicit GaussianNoiseImpl(double std) : std_(std) {}
  torch::Tensor forward(torch::Tensor x);

 private:
  double std_;
};
TORCH_MODULE(GaussianNoise);

struct TransferModelOptions {
  int image_size = 48;  ///< pixels of the grey input
  int input_size = 0;   ///< pixels the backbone sees; 0 = image_size
  config::InputChannels input_channels = config::InputChannels::Replicate;
  /// Whether the backbone holds pretrained weights. Only then is the dataset normalisation
  /// (DeviceDataset) undone and the weights' own statistics (rgb_mean / rgb_std) applied; a
  /// randomly initialised backbone sees the dataset-normalised image.
  bool pretrained = false;
  float data_mean = 0.5f, data_std = 0.25f;
  /// Per-channel statistics the backbone's weights were trained with (torchvision's
  /// ImageNet values; timm's Xception uses 0.5 / 0.5).
  std::array<float, 3> rgb_mean = {0.485f, 0.456f, 0.406f};
  std::array<float, 3> rgb_std = {0.229f, 0.224f, 0.225f};
  std::vector<config::HeadLayerConfig> head;
  int num_classes = 7;
};

class TransferModelImpl : public ClassifierImpl {
 public:
  TransferModelImpl(std::shared_ptr<BackboneImpl> backbone, const TransferModelOptions& options);
  /// x float32 [B, 1, S, S] (dataset-normalised grey) -> logits float32 [B, num_classes].
  torch::Tensor forward(torch::Tensor x) override;

  BackboneImpl& backbone() { return *backbone_; }
  /// "backbone.<block>" for every backbone block, input to output.
  std::vector<std::string> blockNames() const override;
  /// Everything outside the backbone: the hidden head layers and the classifier.
  bool isHeadParameter(const std::string& name) const override;
  std::string parameterPrefix(const std::string& block) const override;
  /// Sums the first convolution's RGB filters into one input channel ("sum_conv1"); call
  /// after loading pretrained weights. Idempotent.
  void collapseFirstConvToGrey();

 private:
  torch::Tensor adaptInput(torch::Tensor x) const;

  std::shared_ptr<BackboneImpl> backbone_;
  torch::nn::Sequential head_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  TransferModelOptions options_;
};
TORCH_MODULE(TransferModel);

}  // namespace ferlab::models
