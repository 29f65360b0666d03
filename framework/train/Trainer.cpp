#include "framework/train/Trainer.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include <ATen/Context.h>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/core/FaultPoint.h"
#include "framework/core/Hash.h"
#include "framework/core/Log.h"
#include "framework/core/Progress.h"
#include "framework/core/StopSignal.h"
#include "framework/core/Stopwatch.h"
#include "framework/train/Augment.h"
#include "framework/train/Balance.h"
#include "framework/train/Optimizers.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;

// A distinct, reproducible generator state per (seed, epoch); the large odd multiplier keeps
// neighbouring seeds' epoch streams apart.
std::uint64_t epochSeed(std::int64_t seed, int epoch) {
  return static_cast<std::uint64_t>(seed) * 0x9E3779B97F4A7C15ULL +
         static_cast<std::uint64_t>(epoch);
}

// Inverse-frequency weights n / (k * n_c) (scikit-learn's class_weight="balanced"); a class
// absent from training gets weight 0.
torch::Tensor balancedClassWeights(const std::vector<std::int64_t>& counts) {
  double total = 0;
  for (const auto count : counts) total += static_cast<double>(count);
  const double k = static_cast<double>(counts.size());
  std::vector<float> weights;
  for (const auto count : counts) {
    weights.push_back(count > 0 ? static_cast<float>(total / (k * static_cast<double>(count)))
                                : 0.f);
  }
  return torch::tensor(weights, torch::kFloat32);
}

}  // namespace

Trainer::Trainer(const config::RunConfig& config, models::ClassifierPtr model,
                 const DeviceDataset& data, std::string run_dir)
    : config_(config),
      model_(std::move(model)),
      data_(data),
      run_dir_(std::move(run_dir)),
      checkpoints_(run_dir_),
      schedule_(config.train),
      precision_(choosePrecision(config.train.precision, data.device())),
      scaler_(precision_.effective == config::Precision::Fp16, data.device()) {
  // The best epoch is chosen on PublicTest: without it every epoch would be "best".
  if (data_.count(data::Split::Val) == 0) {
    throw DataError(
        "the dataset has no validation (PublicTest) images, so no epoch can be selected; use a "
        "layout with a PublicTest split or set data.val_fraction > 0");
  }
  fs::create_directories(run_dir_);
  model_->to(data_.device());
  if (config_.train.channels_last) toChannelsLast(*model_);
  if (!precision_.fallback_reason.empty()) {
    log::warn("train.precision = \"{}\" falls back to fp32 on {}: {}",
              config::precisionName(precision_.requested), data_.device().str(),
              precision_.fallback_reason);
  }
  phases_ = planPhases(config_.train);
  for (const auto& phase : phases_) checkTrainable(*model_, phase);
  activatePhase(phases_.front());
  if (config_.balance.method == config::BalanceMethod::ClassWeights) {
    class_weights_ = balancedClassWeights(data_.trainClassCounts()).to(data_.device());
  }
  if (data_.device().is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  if (config_.eval.tta == config::Tta::TenCrop &&
      (config_.eval.crop_size < 1 || config_.eval.crop_size > data_.imageSize())) {
    throw ConfigError(fmt::format("eval.crop_size: {} does not fit the {} x {} pixel images",
                                  config_.eval.crop_size, data_.imageSize(), data_.imageSize()));
  }
}

Trainer::~Trainer() = default;

torch::Tensor Trainer::modelInput(const torch::Tensor& inputs) const {
  return config_.train.channels_last ? inputs.contiguous(torch::MemoryFormat::ChannelsLast)
                                     : inputs;
}

std::string Trainer::bestCheckpointPath() const {
  return checkpoints_.bestPath();
}
std::string Trainer::lastCheckpointPath() const {
  return checkpoints_.lastPath();
}

void Trainer::activatePhase(const PhasePlan& phase) {
  auto setup = setUpPhase(*model_, phase, config_.train);
  optimizer_ = makeOptimizer(setup.optimizer, config_.train, setup.groups);
  group_base_lrs_.clear();
  for (const auto& group : setup.groups) group_base_lrs_.push_back(group.lr);
  phase_base_lr_ = setup.base_lr;
  trainable_params_ = setup.trainable_params;
  total_params_ = setup.total_params;
  frozen_batch_norms_ = std::move(setup.frozen_batch_norms);
  active_phase_ = phase.index;
  if (phases_.size() > 1) {
    log::info(
        "phase {} '{}' (epochs {}-{}): {} of {} parameters trainable, {} {} at lr {:.3g}, {} "
        "frozen BatchNorm layers in eval mode",
        phase.index + 1, phase.name, phase.first_epoch, phase.last_epoch, trainable_params_,
        total_params_,
        setup.groups.size() == 1 ? "1 group" : fmt::format("{} groups", setup.groups.size()),
        config::choiceName(setup.optimizer), phase_base_lr_, frozen_batch_norms_.size());
  }
}

torch::Tensor predictProbabilities(models::ClassifierImpl& model, const torch::Tensor& inputs,
                                   const config::EvalConfig& eval) {
  if (eval.tta == config::Tta::TenCrop) {
    const auto views = tenCropViews(inputs, eval.crop_size);
    torch::Tensor sum;
    for (const auto& view : views) {
      const auto probabilities = torch::softmax(model.forward(view).to(torch::kFloat32), 1);
      sum = sum.defined() ? sum + probabilities : probabilities;
    }
    return sum / static_cast<double>(views.size());
  }
  // Softmax of float32 logits: under autocast the model may return bfloat16 or float16.
  auto probabilities = torch::softmax(model.forward(inputs).to(torch::kFloat32), 1);
  if (eval.tta == config::Tta::Hflip) {
    probabilities =
        (probabilities + torch::softmax(model.forward(inputs.flip({3})).to(torch::kFloat32), 1)) /
        2;
  }
  return probabilities;
}

torch::Tensor classificationLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                                 const config::RunConfig& config,
                                 const torch::Tensor& class_weights) {
  namespace F = torch::nn::functional;
  if (config.balance.method == config::BalanceMethod::Focal)
    return focalLoss(logits, labels, config.balance.focal_gamma);
  auto options = F::CrossEntropyFuncOptions().label_smoothing(config.train.label_smoothing);
  if (class_weights.defined()) options.weight(class_weights);
  return F::cross_entropy(logits, labels, options);
}

torch::Tensor trainingLoss(const torch::Tensor& logits, const torch::Tensor& labels,
                           const BatchMix& mix, const config::RunConfig& config,
                           const torch::Tensor& class_weights) {
  const auto own = classificationLoss(logits, labels, config, class_weights);
  if (!mix.mixed()) return own;
  const auto partner =
      classificationLoss(logits, labels.index_select(0, mix.permutation), config, class_weights);
  return own * mix.lambda + partner * (1.0 - mix.lambda);
}

torch::Tensor dominantLabels(const torch::Tensor& labels, const BatchMix& mix) {
  if (!mix.mixed() || mix.lambda >= 0.5) return labels;
  return labels.index_select(0, mix.permutation);
}

double Trainer::applyLearningRate(double scheduled_lr) {
  // The schedule runs over the whole run; each group keeps its ratio to the phase's lr.
  const double factor = scheduled_lr / config_.train.lr;
  std::vector<double> lrs;
  for (const double base : group_base_lrs_) lrs.push_back(base * factor);
  setLearningRates(*optimizer_, lrs);
  return phase_base_lr_ * factor;
}

Trainer::EpochTrainStats Trainer::trainEpoch(int epoch) {
  model_->train();
  // Frozen BatchNorm layers keep their running statistics (and use them) unless the phase
  // says otherwise.
  for (const auto& batch_norm : frozen_batch_norms_) batch_norm->eval();
  const auto& train_indices = data_.indices(data::Split::Train);
  const auto order = balancedEpochOrder(train_indices, data_.labels(train_indices),
                                        data_.numClasses(), config_.balance.method);
  const auto n = order.size(0);
  const auto batch_size = static_cast<std::int64_t>(config_.train.batch_size);
  // A final batch of one sample would break BatchNorm's training statistics: drop it.
  const auto usable = (n % batch_size == 1 && n > 1) ? n - 1 : n;
  const auto steps = (usable + batch_size - 1) / batch_size;
  // What the epoch presents after balancing (one device sync per epoch).
  const auto presented =
      torch::bincount(data_.labels(order.slice(0, 0, usable)), {}, data_.numClasses())
          .to(torch::kCPU, torch::kInt64)
          .contiguous();

  auto loss_sum =
      torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(data_.device()));
  auto correct =
      torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(data_.device()));
  core::ProgressLine progress;
  const core::Stopwatch stopwatch;
  double first_step_lr = -1;
  for (std::int64_t step = 0; step < steps; ++step) {
    // A stop request ends the epoch here; last.pt still holds the previous epoch, which a
    // resumed run continues from (the partial epoch is thrown away, never half-recorded).
    if (step == steps / 2) core::faultPoint("mid-epoch", epoch);
    if (core::stopSignal() != 0) {
      core::throwIfStopRequested(
          fmt::format("in epoch {} at step {}/{}", epoch, step + 1, steps).c_str());
    }
    if (schedule_.perStep()) {
      const double lr = applyLearningRate(schedule_.lrForStep(epoch, step, steps));
      if (step == 0) first_step_lr = lr;
    }
    const auto batch_indices =
        order.slice(0, step * batch_size, std::min(usable, (step + 1) * batch_size));
    const auto batch = trainingBatch(data_, batch_indices, config_.augment);
    torch::Tensor logits, loss;
    {
      const AutocastScope autocast(precision_.effective, data_.device().type());
      // The loss is computed from float32 logits whatever dtype the forward pass ran in.
      logits = model_->forward(modelInput(batch.inputs)).to(torch::kFloat32);
      loss = trainingLoss(logits, batch.labels, batch.mix, config_, class_weights_);
    }
    optimizer_->zero_grad();
    scaler_.scale(loss).backward();
    const bool finite = scaler_.unscale(*optimizer_);
    if (finite && config_.train.grad_clip > 0) {
      torch::nn::utils::clip_grad_norm_(model_->parameters(), config_.train.grad_clip);
    }
    scaler_.step(*optimizer_);

    loss_sum += loss.detach().to(torch::kFloat64) * batch_indices.size(0);
    correct += logits.detach().argmax(1).eq(dominantLabels(batch.labels, batch.mix)).sum();
    if (step % 20 == 19) {  // reading the sums synchronises the device: do it rarely
      const auto seen = static_cast<double>(std::min(usable, (step + 1) * batch_size));
      const double elapsed = stopwatch.seconds();
      progress.update(fmt::format(
          "epoch {}/{} step {}/{} loss {:.4f} acc {:.1f}% {:.0f} img/s ETA {}", epoch,
          config_.train.epochs, step + 1, steps, loss_sum.item<double>() / seen,
          100.0 * static_cast<double>(correct.item<std::int64_t>()) / seen, seen / elapsed,
          core::formatDuration(elapsed / seen * static_cast<double>(usable - seen) +
                               elapsed / seen * usable * (config_.train.epochs - epoch))));
    }
  }
  EpochTrainStats stats;
  const double seen = static_cast<double>(usable);
  stats.loss = loss_sum.item<double>() / seen;  // synchronises, so the timing below is honest
  stats.accuracy = static_cast<double>(correct.item<std::int64_t>()) / seen;
  stats.images_per_sec = seen / stopwatch.seconds();
  stats.first_step_lr = first_step_lr;
  stats.class_counts.assign(presented.data_ptr<std::int64_t>(),
                            presented.data_ptr<std::int64_t>() + presented.numel());
  return stats;
}

SplitEvaluation Trainer::evaluate(data::Split split) {
  return evaluate(data_, split);
}

SplitEvaluation Trainer::evaluate(const DeviceDataset& data, data::Split split) {
  torch::NoGradGuard no_grad;
  model_->eval();
  SplitEvaluation result;
  result.split = split;
  const auto& indices = data.indices(split);
  const auto n = indices.size(0);
  const auto k = data.numClasses();
  std::vector<torch::Tensor> probability_batches;
  double nll_sum = 0.0;
  for (std::int64_t begin = 0; begin < n; begin += config_.eval.batch_size) {
    const auto batch_indices =
        indices.slice(0, begin, std::min(n, begin + config_.eval.batch_size));
    const auto inputs = modelInput(data.normalize(data.images(batch_indices)));
    const AutocastScope autocast(precision_.effective, data.device().type());
    const torch::Tensor probabilities = predictProbabilities(*model_, inputs, config_.eval);
    const auto labels = data.labels(batch_indices);
    const auto true_probability = probabilities.gather(1, labels.view({-1, 1})).clamp_min(1e-12);
    nll_sum += -true_probability.log().sum().item<double>();
    probability_batches.push_back(probabilities.to(torch::kCPU));
  }
  result.loss = n > 0 ? nll_sum / static_cast<double>(n) : 0.0;

  const auto probabilities =
      n > 0 ? torch::cat(probability_batches).contiguous() : torch::zeros({0, k}, torch::kFloat32);
  const auto predicted = probabilities.argmax(1).contiguous();
  const auto labels = data.labels(indices).to(torch::kCPU).contiguous();
  const auto sample_indices = indices.to(torch::kCPU).contiguous();
  const auto as_vector = [](const torch::Tensor& t) {
    return std::vector<std::int64_t>(t.data_ptr<std::int64_t>(),
                                     t.data_ptr<std::int64_t>() + t.numel());
  };
  result.sample_indices = as_vector(sample_indices);
  result.labels = as_vector(labels);
  result.predicted = as_vector(predicted);
  result.probabilities.assign(probabilities.data_ptr<float>(),
                              probabilities.data_ptr<float>() + probabilities.numel());
  result.metrics = computeMetrics(result.labels, result.predicted, k);
  return result;
}

double Trainer::monitoredValue(const tracking::EpochRecord& record) const {
  switch (config_.train.monitor) {
    case config::Monitor::ValLoss:
      return record.val_loss;
    case config::Monitor::ValMacroF1:
      return record.val_macro_f1;
    case config::Monitor::ValAccuracy:
      return record.val_accuracy;
  }
  return record.val_accuracy;
}

bool Trainer::improves(double value) const {
  if (summary_.best_epoch < 0) return true;
  switch (config_.train.monitor) {
    case config::Monitor::ValLoss:
      return value < summary_.best_val_loss;
    case config::Monitor::ValMacroF1:
      return value > summary_.best_val_macro_f1;
    case config::Monitor::ValAccuracy:
      return value > summary_.best_val_accuracy;
  }
  return false;
}

void Trainer::updateSummary(const tracking::EpochRecord& record, bool is_best) {
  if (is_best) {
    summary_.best_epoch = record.epoch;
    summary_.best_val_accuracy = record.val_accuracy;
    summary_.best_val_macro_f1 = record.val_macro_f1;
    summary_.best_val_loss = record.val_loss;
  }
  summary_.last_epoch = record.epoch;
  summary_.last_val_accuracy = record.val_accuracy;
  summary_.last_train_loss = record.train_loss;
  summary_.last_train_accuracy = record.train_accuracy;
  // The first epoch includes warm-up (allocator, cuDNN autotuning): report the mean of the
  // later ones when there are any.
  if (record.epoch == 1) {
    first_epoch_throughput_ = record.images_per_sec;
  } else {
    throughput_sum_ += record.images_per_sec;
    ++throughput_epochs_;
  }
  summary_.images_per_sec =
      throughput_epochs_ > 0 ? throughput_sum_ / throughput_epochs_ : first_epoch_throughput_;
}

void Trainer::fit(const EpochCallback& on_epoch, const PhaseCallback& on_phase) {
  const auto& train = config_.train;
  if (completed_epochs_ > 0 && train.early_stopping > 0 &&
      completed_epochs_ - summary_.best_epoch >= train.early_stopping) {
    return;  // the checkpointed run had already stopped early
  }
  for (int epoch = completed_epochs_ + 1; epoch <= train.epochs; ++epoch) {
    const core::Stopwatch stopwatch;
    torch::manual_seed(epochSeed(train.seed, epoch));
    const auto& phase = phaseForEpoch(phases_, epoch);
    if (phase.index != active_phase_) activatePhase(phase);
    if (epoch == phase.first_epoch && on_phase) {
      on_phase({phase.index, phase.name, phase.first_epoch,
                phase.last_epoch - phase.first_epoch + 1, trainable_params_, total_params_});
    }
    double lr = applyLearningRate(schedule_.lrForEpoch(epoch));

    const auto stats = trainEpoch(epoch);
    if (stats.first_step_lr >= 0) lr = stats.first_step_lr;  // per-step: the epoch's first rate
    const auto validation = evaluate(data::Split::Val);
    tracking::EpochRecord record;
    record.epoch = epoch;
    record.phase = phase.name;
    record.train_loss = stats.loss;
    record.train_accuracy = stats.accuracy;
    record.val_loss = validation.loss;
    record.val_accuracy = validation.metrics.accuracy;
    record.val_macro_f1 = validation.metrics.macro_f1;
    record.lr = lr;
    record.images_per_sec = stats.images_per_sec;
    record.class_counts = stats.class_counts;
    record.seconds = stopwatch.seconds();

    const double monitored = monitoredValue(record);
    schedule_.observe(monitored);
    const bool is_best = improves(monitored);
    updateSummary(record, is_best);
    core::faultPoint("before-checkpoint", epoch);
    if (is_best) saveBest(epoch);  // pending until last.pt commits the epoch (Checkpoints.h)
    core::faultPoint("before-store-commit", epoch);
    core::ProgressLine().finish(
        fmt::format("epoch {}/{} loss {:.4f} acc {:.1f}% | val loss {:.4f} acc {:.1f}% F1 {:.3f}{} "
                    "| lr {:.2g} | "
                    "{:.0f} img/s | {:.1f} s | ETA {}",
                    epoch, train.epochs, record.train_loss, 100 * record.train_accuracy,
                    record.val_loss, 100 * record.val_accuracy, record.val_macro_f1,
                    is_best ? " *" : "", lr, record.images_per_sec, record.seconds,
                    core::formatDuration(record.seconds * (train.epochs - epoch))));
    on_epoch(record, summary_);
    core::faultPoint("between-checkpoints", epoch);
    saveLast(epoch);
    core::faultPoint("before-best-promotion", epoch);
    if (is_best) checkpoints_.promoteBest(epoch);
    completed_epochs_ = epoch;
    if (train.early_stopping > 0 && epoch - summary_.best_epoch >= train.early_stopping) {
      log::info("early stopping: {} has not improved for {} epochs (best epoch {})", train.monitor,
                train.early_stopping, summary_.best_epoch);
      break;
    }
  }
}

void Trainer::saveBest(int epoch) const {
  torch::serialize::OutputArchive archive;
  model_->save(archive);
  writeScalar(archive, "epoch", epoch);
  saveAtomically(archive, checkpoints_.pendingBestPath(epoch));
}

void Trainer::saveLast(int epoch) const {
  torch::serialize::OutputArchive model_archive, optimizer_archive, archive;
  model_->save(model_archive);
  optimizer_->save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  writeScalar(archive, "epoch", epoch);
  writeScalar(archive, "best_epoch", summary_.best_epoch);
  writeScalar(archive, "best_val_accuracy", summary_.best_val_accuracy);
  writeScalar(archive, "best_val_macro_f1", summary_.best_val_macro_f1);
  writeScalar(archive, "best_val_loss", summary_.best_val_loss);
  writeScalar(archive, "last_val_accuracy", summary_.last_val_accuracy);
  writeScalar(archive, "last_train_loss", summary_.last_train_loss);
  writeScalar(archive, "last_train_accuracy", summary_.last_train_accuracy);
  writeScalar(archive, "throughput_sum", throughput_sum_);
  writeScalar(archive, "throughput_epochs", throughput_epochs_);
  writeScalar(archive, "first_epoch_throughput", first_epoch_throughput_);
  const auto& plateau = schedule_.state();
  writeScalar(archive, "plateau_lr", plateau.plateau_lr);
  writeScalar(archive, "plateau_best", plateau.plateau_best);
  writeScalar(archive, "plateau_bad_epochs", plateau.plateau_bad_epochs);
  writeScalar(archive, "plateau_has_best", plateau.plateau_has_best ? 1.0 : 0.0);
  scaler_.save(archive);
  if (owner_) writeOwner(archive, *owner_);
  saveAtomically(archive, lastCheckpointPath(), [&](const std::string& temporary) {
    if (checkpoint_recorder_) checkpoint_recorder_(epoch, core::fileHashHex(temporary));
  });
}

int Trainer::resume() {
  const auto path = lastCheckpointPath();
  if (!fs::exists(path)) {
    checkpoints_.clearUncommitted();
    return 0;
  }
  try {
    torch::serialize::InputArchive archive, model_archive, optimizer_archive;
    archive.load_from(path, data_.device());
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    model_->load(model_archive);
    completed_epochs_ = static_cast<int>(readScalar(archive, "epoch"));
    // The optimiser state belongs to the phase of the last completed epoch: restore it when
    // training continues in that phase; a new phase starts with a fresh optimiser.
    const auto& next =
        phaseForEpoch(phases_, std::min(completed_epochs_ + 1, config_.train.epochs));
    const bool same_phase = phaseForEpoch(phases_, completed_epochs_).index == next.index;
    if (next.index != active_phase_) activatePhase(next);
    if (same_phase) optimizer_->load(optimizer_archive);
    summary_.best_epoch = static_cast<int>(readScalar(archive, "best_epoch"));
    summary_.best_val_accuracy = readScalar(archive, "best_val_accuracy");
    summary_.best_val_macro_f1 = readScalar(archive, "best_val_macro_f1");
    summary_.best_val_loss = readScalar(archive, "best_val_loss");
    summary_.last_epoch = completed_epochs_;
    summary_.last_val_accuracy = readScalar(archive, "last_val_accuracy");
    summary_.last_train_loss = readScalar(archive, "last_train_loss");
    summary_.last_train_accuracy = readScalar(archive, "last_train_accuracy");
    throughput_sum_ = readScalar(archive, "throughput_sum");
    throughput_epochs_ = static_cast<int>(readScalar(archive, "throughput_epochs"));
    first_epoch_throughput_ = readScalar(archive, "first_epoch_throughput");
    summary_.images_per_sec =
        throughput_epochs_ > 0 ? throughput_sum_ / throughput_epochs_ : first_epoch_throughput_;
    LrSchedule::State plateau;
    plateau.plateau_lr = readScalar(archive, "plateau_lr");
    plateau.plateau_best = readScalar(archive, "plateau_best");
    plateau.plateau_bad_epochs = static_cast<int>(readScalar(archive, "plateau_bad_epochs"));
    plateau.plateau_has_best = readScalar(archive, "plateau_has_best") != 0.0;
    schedule_.restore(plateau);
    scaler_.load(archive);
    checkpoints_.reconcile(summary_.best_epoch);
  } catch (const Error&) {
    throw;  // reconcile's TrainError names best.pt
  } catch (const std::exception& error) {
    throw TrainError(fmt::format("{}: cannot resume from this checkpoint: {}", path,
                                 checkpointErrorReason(error)));
  }
  return completed_epochs_;
}

void Trainer::loadBestCheckpoint() {
  const auto path = bestCheckpointPath();
  if (!fs::exists(path)) throw TrainError(fmt::format("{}: no best checkpoint", path));
  loadModelCheckpoint(*model_, path, data_.device());
}

torch::Device resolveDevice(const std::string& name) {
  if (name == "auto")
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (!torch::cuda::is_available()) {
    throw ConfigError(fmt::format(
        "train.device: '{}' requested but no CUDA device is available (LibTorch {} sees none); "
        "use cpu or auto",
        name, TORCH_VERSION));
  }
  const torch::Device device(name);
  if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
    throw ConfigError(fmt::format("train.device: '{}' requested but only {} CUDA device(s) exist",
                                  name, torch::cuda::device_count()));
  }
  return device;
}

std::string torchVersion() {
  return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

}  // namespace ferlab::train
