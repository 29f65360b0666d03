#pragma once
// A trained run's selected checkpoint, ready to classify images prepared like its training
// data: the run's resolved config, its input normalisation and the weights of the epoch that
// validation (PublicTest) chose, results/runs/<id>/best.pt (Checkpoints.h). Used by `ferlab
// predict` (faces in photographs) and `ferlab evaluate` (another dataset, CrossDataset.h).
// Inference runs in float32 (no autocast) with the run's eval.tta, as evaluation applies it.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "framework/config/RunConfig.h"
#include "framework/models/ModelRegistry.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::train {

class TrainedModel {
 public:
  /// Loads run `row` from `results_dir`/runs/<id>/: config from the store's config_json,
  /// normalisation from normalization.json (GridRunner.h; runs recorded before it existed are
  /// measured again on their training split, as training measured it), weights from best.pt,
  /// onto `device` ("" = cpu; "cuda", "cuda:N"). Throws TrainError (no best.pt: the run has no
  /// selected epoch; an unreadable checkpoint or normalisation file), ConfigError (a
  /// config_json this FERLab cannot read, CUDA asked for but absent), DataError (measuring the
  /// normalisation).
  TrainedModel(const tracking::RunRow& row, const std::string& results_dir,
               const std::string& device);

  const std::string& runId() const { return id_; }
  const config::RunConfig& config() const { return config_; }
  /// The training split's pixel statistics on the [0, 1] scale.
  const models::InputNormalization& normalization() const { return normalization_; }
  torch::Device device() const { return device_; }

  /// uint8 [B, 1, S, S] (any device) -> float32 [B, 1, S, S] on the model's device:
  /// (x / 255 - mean) / std, exactly as DeviceDataset::normalize does for training batches.
  torch::Tensor normalize(const torch::Tensor& images) const;

  /// Class probabilities float32 [N, K] on the CPU for `count` uint8 images of S x S pixels
  /// (S = data.image_size) stored one after another, row-major, in `pixels` (count * S * S
  /// bytes): normalised, then classified in batches of eval.batch_size with eval.tta
  /// (predictProbabilities, Trainer.h).
  torch::Tensor classify(const std::uint8_t* pixels, std::int64_t count) const;

 private:
  models::InputNormalization readNormalization(const std::string& run_dir) const;
  void loadCheckpoint(const std::string& path);

  std::string id_;
  config::RunConfig config_;
  torch::Device device_;
  models::InputNormalization normalization_;
  models::ClassifierPtr model_;
};

/// The class names run `id` recorded (with its split metrics) when they number
/// `num_classes`, else FER2013's for 7 classes, else "class0", "class1", ...
std::vector<std::string> runClassNames(const tracking::SqliteStore& store, const std::string& id,
                                       int num_classes);

}  // namespace ferlab::train
