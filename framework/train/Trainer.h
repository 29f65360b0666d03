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
// Batch mixing (augment.mixup / augment.cutmix): the recorded training loss is the mixed loss
// (trainingLoss) and training accuracy counts each prediction against the label that
// dominates its image's mix (dominantLabels). Each epoch records how many samples of each
// class it presented after balancing (EpochRecord::class_counts).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "framework/config/RunConfig.h"
#include "framework/models/ModelRegistry.h"
#include "framework/tracking/SqliteStore.h"
#include "framework/train/Augment.h"
#include "framework/train/Checkpoints.h"
#include "framework/train/DeviceDataset.h"
#include "framework/train/GradScaler.h"
#include "framework/train/LrSchedule.h"
#include "framework/train/Metrics.h"
#include "framework/train/Phases.h"
#include "framework/train/Precision.h"

namespace ferlab::train {

/// A model's outputs on one split.
struct SplitEvaluation {
  data::Split split = data::Split::Val;
  double loss = 0.0;  ///< mean cross-entropy, nats (label smoothing and class weights off)
  ClassificationMetrics metrics;
  std::vector<std::int64_t> sample_indices;  ///< dataset indices, ascending
  std::vector<std::int64_t> labels, predicted;
  /// Per-sample ids, filled by whoever knows the dataset (GridRunner, FinalEvaluation).
  std::vector<std::string> sample_ids;
  std::vector<float> probabilities;  ///< n x k softmax, row-major
};

class Trainer {
 public:
  using EpochCallback =
      std::function<void(const tracking::EpochRecord&, const tracking::RunSummary&)>;
  using PhaseCallback = std::function<void(const tracking::PhaseRecord&)>;

  /// `model` is moved to the dataset's device. `run_dir` receives the checkpoints (created
  /// if missing). Throws DataError when `data` has no validation images (no epoch could be
  /// selected).
  Trainer(const config::RunConfig& config, models::ClassifierPtr model, const DeviceDataset& data,
          std::string run_dir);
  ~Trainer();

  /// Records `owner` in every last.pt this trainer writes, so another store can tell the
  /// checkpoint is not its own (GridRunner checks it before resuming).
  void setOwner(const CheckpointOwner& owner) { owner_ = owner; }

  /// Called with (epoch, core::fileHashHex of the new last.pt) after each last.pt is written
  /// and before it replaces the previous one; GridRunner records the hash with the epoch.
  using CheckpointRecorder = std::function<void(int epoch, const std::string& hash)>;
  void setCheckpointRecorder(CheckpointRecorder recorder) {
    checkpoint_recorder_ = std::move(recorder);
  }

  /// Restores last.pt when it exists and reconciles best.pt with it (Checkpoints.h); returns
  /// the number of completed epochs (0 = fresh). Throws TrainError for a checkpoint that does
  /// not fit the model, or a best.pt that is not the best epoch last.pt records.
  int resume();

  /// Trains the remaining epochs, calling `on_phase` when a phase of the freeze / fine-tune
  /// schedule starts and `on_epoch` after each epoch (before last.pt is written, so a crash
  /// in between replays that epoch instead of losing it).
  void fit(const EpochCallback& on_epoch, const PhaseCallback& on_phase = {});

  /// Loads best.pt into the model. Throws TrainError when there is none.
  void loadBestCheckpoint();

  /// Evaluates the current weights on `split` of the run's data (Train or Val; eval mode, no
  /// gradients, eval.tta applied).
  SplitEvaluation evaluate(data::Split split);
  /// As evaluate(split), on other data on the same device: the sealed PrivateTest, which only
  /// FinalEvaluation can put on a device.
  SplitEvaluation evaluate(const DeviceDataset& data, data::Split split);
  /// The run's training/validation data.
  const DeviceDataset& data() const { return data_; }

  const tracking::RunSummary& summary() const { return summary_; }
  /// The precision training runs in (train.precision, or fp32 where the device lacks it).
  config::Precision precision() const { return precision_.effective; }
  std::string bestCheckpointPath() const;
  std::string lastCheckpointPath() const;

 private:
  struct EpochTrainStats {
    double loss = 0.0, accuracy = 0.0, images_per_sec = 0.0;
    std::vector<std::int64_t> class_counts;  // samples of each class the epoch presented
    double first_step_lr = -1;  // the phase's rate at the first step (per-step schedules)
  };
  void activatePhase(const PhasePlan& phase);
  torch::Tensor modelInput(const torch::Tensor& inputs) const;  // channels-last when asked
  EpochTrainStats trainEpoch(int epoch);
  /// Sets every parameter group's rate for the schedule's `scheduled_lr` (a rate for
  /// train.lr); returns the phase's rate, which the epoch history records.
  double applyLearningRate(double scheduled_lr);
  double monitoredValue(const tracking::EpochRecord& record) const;
  bool improves(double value) const;
  void updateSummary(const tracking::EpochRecord& record, bool is_best);
  void saveBest(int epoch) const;
  void saveLast(int epoch) const;

  config::RunConfig config_;
  models::ClassifierPtr model_;
  const DeviceDataset& data_;
  std::string run_dir_;
  RunCheckpoints checkpoints_;
  std::optional<CheckpointOwner> owner_;
  CheckpointRecorder checkpoint_recorder_;
  std::vector<PhasePlan> phases_;
  int active_phase_ = -1;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<double> group_base_lrs_;  // per optimiser parameter group, before the schedule
  double phase_base_lr_ = 0.0;
  std::int64_t trainable_params_ = 0, total_params_ = 0;
  std::vector<std::shared_ptr<torch::nn::Module>> frozen_batch_norms_;
  LrSchedule schedule_;
  torch::Tensor class_weights_;  // float32 [k] on the device, or undefined
  PrecisionChoice precision_;
  GradScaler scaler_;  // enabled for fp16 only
  tracking::RunSummary summary_;
  int completed_epochs_ = 0;
  double throughput_sum_ = 0.0;  // images/s summed over epochs after the first
  int throughput_epochs_ = 0;
  double first_epoch_throughput_ = 0.0;
};

/// Class probabilities float32 [B, k] of a model in eval mode for normalised inputs float32
/// [B, C, H, W], with the test-time augmentation of `eval`: "none"; "hflip" (mean with the
/// mirror); "ten_crop" (mean over tenCropViews, one forward pass per view so peak activation
/// memory stays that of one batch). Used by evaluation and `ferlab predict` alike. Throws
/// ConfigError from tenCropViews when the crop does not fit.
torch::Tensor predictProbabilities(models::ClassifierImpl& model, const torch::Tensor& inputs,
                                   const config::EvalConfig& eval);

/// The per-batch loss of `config` on logits float32 [B, k] and labels int64 [B] -> scalar:
/// focal loss when balance.method = "focal" (Lin et al. 2017), else cross-entropy with
/// train.label_smoothing and `class_weights` (float32 [k], or undefined for none; PyTorch's
/// weighted mean).
torch::Tensor classificationLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                                 const config::RunConfig& config,
                                 const torch::Tensor& class_weights);

/// The training loss of a possibly mixed batch: classificationLoss(labels) for an unmixed
/// one, else lambda * loss(labels) + (1 - lambda) * loss(labels[permutation]) (mixup, Zhang
/// et al. 2018; CutMix, Yun et al. 2019), with smoothing, weights or focal loss in each term.
torch::Tensor trainingLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                           const BatchMix& mix, const config::RunConfig& config,
                           const torch::Tensor& class_weights);

/// The label training accuracy counts against (int64 [B]): each image's own label, or its
/// partner's where the partner dominates the mix (lambda < 0.5). So a mixed batch's train
/// accuracy is the share of predictions that hit the larger of the two labels.
torch::Tensor dominantLabels(const torch::Tensor& labels, const BatchMix& mix);

/// The device named by `train.device` ("auto": CUDA when available, else CPU). Throws
/// ConfigError when CUDA is requested but unavailable.
torch::Device resolveDevice(const std::string& name);

/// LibTorch's version, e.g. "1.13.1".
std::string torchVersion();

}  // namespace ferlab::train
