#pragma once
// Trains one run: epochs of device-resident batches -> augmentation -> model -> optimiser,
// validation on PublicTest after every epoch, learning-rate schedule, early stopping, and the
// two checkpoints under the run folder:
//   best.pt  weights of the epoch with the best monitored validation metric (the one that
//            is evaluated on PrivateTest, once, after training)
//   last.pt  weights, optimiser and trainer state after the latest epoch (resume point)
// Reproducibility: LibTorch's global generator is re-seeded at the start of every epoch from
// (train.seed, epoch), so a run resumed from last.pt draws exactly the batches, flips and
// dropout masks the uninterrupted run would have drawn (bit-identical on CPU).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "framework/config/RunConfig.h"
#include "framework/models/ModelRegistry.h"
#include "framework/tracking/SqliteStore.h"
#include "framework/train/DeviceDataset.h"
#include "framework/train/LrSchedule.h"
#include "framework/train/Metrics.h"
#include "framework/train/Phases.h"

namespace ferlab::train {

/// A model's outputs on one split.
struct SplitEvaluation {
  data::Split split = data::Split::Val;
  double loss = 0.0;  ///< mean cross-entropy, nats (label smoothing and class weights off)
  ClassificationMetrics metrics;
  std::vector<std::int64_t> sample_indices;  ///< dataset indices, ascending
  std::vector<std::int64_t> labels, predicted;
  std::vector<float> probabilities;  ///< n x k softmax, row-major
};

class Trainer {
 public:
  using EpochCallback =
      std::function<void(const tracking::EpochRecord&, const tracking::RunSummary&)>;
  using PhaseCallback = std::function<void(const tracking::PhaseRecord&)>;

  /// `model` is moved to the dataset's device. `run_dir` receives the checkpoints (created
  /// if missing).
  Trainer(const config::RunConfig& config, models::ClassifierPtr model, const DeviceDataset& data,
          std::string run_dir);
  ~Trainer();

  /// Restores last.pt when it exists; returns the number of completed epochs (0 = fresh).
  /// Throws TrainError for a checkpoint that does not fit the model.
  int resume();

  /// Trains the remaining epochs, calling `on_phase` when a phase of the freeze / fine-tune
  /// schedule starts and `on_epoch` after each epoch (before last.pt is written, so a crash
  /// in between replays that epoch instead of losing it).
  void fit(const EpochCallback& on_epoch, const PhaseCallback& on_phase = {});

  /// Loads best.pt into the model. Throws TrainError when there is none.
  void loadBestCheckpoint();

  /// Evaluates the current weights on `split` (eval mode, no gradients, eval.tta applied).
  SplitEvaluation evaluate(data::Split split);

  const tracking::RunSummary& summary() const { return summary_; }
  std::string bestCheckpointPath() const;
  std::string lastCheckpointPath() const;

 private:
  struct EpochTrainStats {
    double loss = 0.0, accuracy = 0.0, images_per_sec = 0.0;
  };
  void activatePhase(const PhasePlan& phase);
  EpochTrainStats trainEpoch(int epoch);
  torch::Tensor lossFor(const torch::Tensor& logits, const torch::Tensor& labels) const;
  double monitoredValue(const tracking::EpochRecord& record) const;
  bool improves(double value) const;
  void updateSummary(const tracking::EpochRecord& record, bool is_best);
  void saveBest() const;
  void saveLast(int epoch) const;

  config::RunConfig config_;
  models::ClassifierPtr model_;
  const DeviceDataset& data_;
  std::string run_dir_;
  std::vector<PhasePlan> phases_;
  int active_phase_ = -1;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<double> group_base_lrs_;  // per optimiser parameter group, before the schedule
  double phase_base_lr_ = 0.0;
  std::int64_t trainable_params_ = 0, total_params_ = 0;
  std::vector<std::shared_ptr<torch::nn::Module>> frozen_batch_norms_;
  LrSchedule schedule_;
  torch::Tensor class_weights_;  // float32 [k] on the device, or undefined
  tracking::RunSummary summary_;
  int completed_epochs_ = 0;
  double throughput_sum_ = 0.0;  // images/s summed over epochs after the first
  int throughput_epochs_ = 0;
  double first_epoch_throughput_ = 0.0;
};

/// The device named by `train.device` ("auto": CUDA when available, else CPU). Throws
/// ConfigError when CUDA is requested but unavailable.
torch::Device resolveDevice(const std::string& name);

/// LibTorch's version, e.g. "1.13.1".
std::string torchVersion();

}  // namespace ferlab::train
