#include "framework/train/GridRunner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <fmt/format.h>

#include "framework/core/AtomicFile.h"
#include "framework/core/Errors.h"
#include "framework/core/Hash.h"
#include "framework/core/Log.h"
#include "framework/core/Provenance.h"
#include "framework/core/StopSignal.h"
#include "framework/core/Stopwatch.h"
#include "framework/data/DatasetCache.h"
#include "framework/data/Fer2013Reader.h"
#include "framework/data/SealedTestSplit.h"
#include "framework/mirror/MlflowMirror.h"
#include "framework/mirror/TensorBoardMirror.h"
#include "framework/models/ModelRegistry.h"
#include "framework/tracking/SqliteStore.h"
#include "framework/train/Checkpoints.h"
#include "framework/train/ClaimKeeper.h"
#include "framework/train/FinalEvaluation.h"
#include "framework/train/Trainer.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;

tracking::RunRecord recordFor(const config::ExperimentGrid& experiment,
                              const config::ResolvedRun& run) {
  tracking::RunRecord record;
  record.id = runId(experiment.name, run.config_hash);
  record.experiment = experiment.name;
  record.name = run.name;
  record.grid_index = run.index;
  record.config_json = run.resolved_json;
  record.config_hash = run.config_hash;
  record.seed = run.config.train.seed;
  record.backbone = config::choiceName(run.config.model.name);
  record.params = run.params;
  record.grid_values = run.grid_values;
  return record;
}

// Datasets loaded in this process, by their [data] settings: a grid whose runs share the
// data decodes (or reads the cache) once.
// The dataset is sealed on arrival: training and selection see only ProtocolSplits::selection.
class DatasetMemo {
 public:
  const data::ProtocolSplits& get(const config::DataConfig& config) {
    const std::string key = fmt::format(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", config.path, config.format, config.cache_dir,
        config.image_size, config.subset, config.subset_is_count, config.eval_subset,
        config.val_fraction, config.test_fraction, config.split_seed, config.align,
        config.align_margin, config.align_upsample, config.cascade_dir);
    auto found = datasets_.find(key);
    if (found == datasets_.end())
      found = datasets_.emplace(key, data::sealTestSplit(data::loadDataset(config))).first;
    return found->second;
  }

 private:
  std::map<std::string, data::ProtocolSplits> datasets_;
};

// Validation predictions in the source dataset's numbering and ids, like the test ones.
void useSourceNumbering(SplitEvaluation& evaluation, const data::ProtocolSplits& splits) {
  evaluation.sample_ids.clear();
  for (auto& index : evaluation.sample_indices) {
    const auto local = static_cast<std::size_t>(index);
    evaluation.sample_ids.push_back(
        splits.selection.sample_ids.empty() ? std::string() : splits.selection.sample_ids[local]);
    index = splits.selection_source_indices[local];
  }
}

tracking::SplitMetrics splitMetricsFrom(const SplitEvaluation& evaluation,
                                        const std::vector<std::string>& class_names) {
  tracking::SplitMetrics split;
  split.split = data::splitName(evaluation.split);
  split.loss = evaluation.loss;
  split.accuracy = evaluation.metrics.accuracy;
  split.macro_f1 = evaluation.metrics.macro_f1;
  split.confusion = evaluation.metrics.confusion;
  for (std::size_t c = 0; c < class_names.size(); ++c) {
    split.classes.push_back({class_names[c], evaluation.metrics.precision[c],
                             evaluation.metrics.recall[c], evaluation.metrics.f1[c],
                             evaluation.metrics.support[c]});
  }
  return split;
}

std::vector<tracking::Prediction> predictionsFrom(const SplitEvaluation& evaluation,
                                                  std::size_t k) {
  std::vector<tracking::Prediction> predictions(evaluation.sample_indices.size());
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    auto& prediction = predictions[i];
    prediction.sample_index = evaluation.sample_indices[i];
    prediction.sample_id = evaluation.sample_ids[i];
    prediction.label = evaluation.labels[i];
    prediction.predicted = evaluation.predicted[i];
    prediction.probabilities.assign(
        evaluation.probabilities.begin() + static_cast<long>(i * k),
        evaluation.probabilities.begin() + static_cast<long>((i + 1) * k));
  }
  return predictions;
}

void writeResolvedConfig(const fs::path& run_dir, const config::ResolvedRun& run) {
  fs::create_directories(run_dir);
  core::writeFileAtomically((run_dir / "config.json").string(), run.resolved_json + "\n");
}

// The input normalisation measured on the training split: `ferlab predict` needs it to feed
// new images exactly as the model saw its training data (PredictCommand.cpp reads it).
void writeInputNormalization(const fs::path& run_dir, const DeviceDataset& data) {
  core::writeFileAtomically(
      (run_dir / kNormalizationFile).string(),
      fmt::format("{{\"mean\": {:.9g}, \"std\": {:.9g}}}\n", data.mean(), data.std()));
}

// A run folder whose last.pt another store wrote (same config and --results, another --db)
// holds a history this store lacks: resuming from it would record a finished run without its
// epochs. Move it aside, whole, and train from scratch; nothing is deleted. A checkpoint from
// before owners were recorded is taken as this store's, as it always was.
void setAsideForeignCheckpoints(const fs::path& run_dir, const CheckpointOwner& owner) {
  const fs::path last = run_dir / "last.pt";
  if (!fs::exists(last)) return;
  std::optional<CheckpointOwner> found;
  try {
    found = readOwner(last.string());
  } catch (const TrainError&) {
    return;  // unreadable: setAsideCorruptCheckpoint (next) tells damage from a lost hash
  }
  if (!found || *found == owner) return;
  fs::path aside = run_dir.string() + ".store-" + found->store_id.substr(0, 8);
  for (int n = 2; fs::exists(aside); ++n)
    aside = run_dir.string() + ".store-" + found->store_id.substr(0, 8) + "-" + std::to_string(n);
  fs::rename(run_dir, aside);
  log::warn(
      "{}: checkpoints of run {} in another store (id {}), whose epochs this store does not "
      "have: moved to {}; training {} from scratch",
      run_dir.string(), found->run_id, found->store_id, aside.string(), owner.run_id);
}

// A last.pt whose bytes match no hash the store recorded for this run's epochs is corrupt
// (truncated, flipped bytes): loading it could resume from garbage. Move the run's checkpoints
// aside, whole, and train from scratch (the store's epochs are truncated to match). A run
// recorded before checkpoint hashes existed (schema v11) is trusted as it always was.
void setAsideCorruptCheckpoint(const fs::path& run_dir, const tracking::SqliteStore& store,
                               const std::string& run_id) {
  const fs::path last = run_dir / "last.pt";
  if (!fs::exists(last)) return;
  const auto knowledge = store.checkpointKnowledge(run_id, core::fileHashHex(last.string()));
  if (knowledge.matches || !knowledge.any_recorded) return;
  fs::path aside = run_dir / "corrupt";
  for (int n = 2; fs::exists(aside); ++n) aside = run_dir / ("corrupt-" + std::to_string(n));
  fs::create_directories(aside);
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && entry.path().extension() == ".pt") {
      fs::rename(entry.path(), aside / name);
    }
  }
  log::warn(
      "{}: its checksum matches no epoch the store recorded (a truncated or damaged file): "
      "moved with the run's other checkpoints to {}; training {} again from scratch",
      last.string(), aside.string(), run_id);
}

/// Sum of the recorded wall times of `epochs`, seconds.
double recordedSeconds(const std::vector<tracking::EpochRecord>& epochs) {
  double seconds = 0;
  for (const auto& epoch : epochs) seconds += epoch.seconds;
  return seconds;
}

// Trains and records one run; returns normally when it finished.
void trainRun(const config::ResolvedRun& run, tracking::RunRecord record,
              tracking::SqliteStore& store, DatasetMemo& datasets, const GridRunOptions& options) {
  const auto& config = run.config;
  const core::Stopwatch stopwatch;
  const fs::path run_dir = fs::path(options.results_dir) / "runs" / record.id;
  const auto device = resolveDevice(options.device.empty() ? config.train.device : options.device);
  // LibTorch's own default can be a single thread on small VMs; use every core unless told.
  const auto threads = options.threads > 0 ? options.threads
                       : config.train.threads > 0
                           ? config.train.threads
                           : static_cast<int>(std::thread::hardware_concurrency());
  if (device.is_cpu() && threads > 0) at::set_num_threads(threads);

  const data::ProtocolSplits& splits = datasets.get(config.data);
  const data::Dataset& dataset = splits.selection;
  if (splits.test.size() == 0) throw DataError("the dataset has no test (PrivateTest) images");
  core::throwIfStopRequested("before training");
  const DeviceDataset device_data(dataset, device);
  if (static_cast<int>(dataset.class_names.size()) != config.model.num_classes) {
    throw ConfigError(fmt::format("model.num_classes = {} but the dataset has {} classes",
                                  config.model.num_classes, dataset.class_names.size()));
  }
  torch::manual_seed(static_cast<std::uint64_t>(config.train.seed));
  models::BackboneWeights weights;
  auto model = models::makeModel(config.model, dataset.image_size,
                                 {device_data.mean(), device_data.std()}, &weights);
  log::info("run {} {}: {} ({} parameters) on {}, {} train / {} val / {} test images", record.id,
            record.name, config.model.name, models::parameterCount(*model), device.str(),
            device_data.count(data::Split::Train), device_data.count(data::Split::Val),
            splits.test.size());

  const CheckpointOwner owner{store.storeId(), record.id};
  setAsideForeignCheckpoints(run_dir, owner);
  setAsideCorruptCheckpoint(run_dir, store, record.id);
  writeResolvedConfig(run_dir, run);
  writeInputNormalization(run_dir, device_data);
  Trainer trainer(config, model, device_data, run_dir.string());
  trainer.setOwner(owner);
  trainer.setCheckpointRecorder([&](int epoch, const std::string& hash) {
    store.recordCheckpointHash(record.id, epoch, hash);
  });
  const int completed = trainer.resume();
  if (completed > 0)
    log::info("resuming {} after epoch {} from {}", record.id, completed,
              trainer.lastCheckpointPath());
  store.truncateRun(record.id, completed);
  // A resumed run's duration counts the epochs its earlier attempts trained, not only this
  // attempt's wall time: the store keeps their recorded seconds.
  const double earlier_epochs_s = recordedSeconds(store.epochs(record.id));

  record.git_commit = core::gitCommit();
  record.ferlab_version = core::ferlabVersion();
  record.torch_version = torchVersion();
  record.opencv_version = data::opencvVersion();
  record.device = device.str();
  record.dataset_key = dataset.key;
  record.alignment = {dataset.alignment.aligned, dataset.alignment.face_only,
                      dataset.alignment.none};
  if (dataset.alignment.known()) {
    log::info("face alignment ({}): {} aligned, {} face only, {} no face", config.data.align,
              dataset.alignment.aligned, dataset.alignment.face_only, dataset.alignment.none);
  }
  // Pretrained only when the backbone really received the file's tensors: makeModel throws
  // for a file that fills fewer than models::kMinBackboneTensorsLoaded of them.
  if (config::isImageNetBackbone(config.model.name)) record.pretrained = weights.loaded > 0 ? 1 : 0;
  record.weights_loaded = weights.loaded;
  record.weights_total = weights.total;
  record.precision = config::precisionName(trainer.precision());
  record.started_at = core::utcNowIso8601();
  store.markRunning(record);

  // A copy of what the store records, after the store has it (DESIGN.md, "Mirrors"). A resumed
  // run gets a new event file holding the epochs trained from here on.
  mirror::TensorBoardMirror tensorboard(options.tensorboard_dir, record.name, record.id);
  // MLflow gets what the store holds of the run now (a resumed run's earlier epochs too).
  mirror::MlflowMirror mlflow(options.mlflow_uri, store, record.id);
  try {
    trainer.fit(
        [&](const tracking::EpochRecord& epoch, const tracking::RunSummary& summary) {
          store.recordEpoch(record.id, epoch, summary);  // checks this process's claim first
          tensorboard.epoch(epoch);
          mlflow.epoch(epoch);
        },
        [&](const tracking::PhaseRecord& phase) { store.recordPhase(record.id, phase); });

    // Protocol: the checkpoint was chosen on PublicTest; PrivateTest is evaluated once, here.
    trainer.loadBestCheckpoint();
    auto validation = trainer.evaluate(data::Split::Val);
    useSourceNumbering(validation, splits);
    const auto test = FinalEvaluation::onPrivateTest(trainer, splits.test);
    auto summary = trainer.summary();
    summary.test_accuracy = test.metrics.accuracy;
    summary.test_macro_f1 = test.metrics.macro_f1;
    summary.duration_s = earlier_epochs_s + stopwatch.seconds();
    const std::vector<tracking::SplitMetrics> final_metrics = {
        splitMetricsFrom(validation, dataset.class_names),
        splitMetricsFrom(test, dataset.class_names)};
    store.finishRun(
        record.id, summary, final_metrics,
        {{data::splitName(data::Split::Val),
          predictionsFrom(validation, dataset.class_names.size())},
         {data::splitName(data::Split::Test), predictionsFrom(test, dataset.class_names.size())}});
    for (const auto& split : final_metrics)
      tensorboard.confusion(split, dataset.class_names, summary.last_epoch);
    mlflow.finish(final_metrics, summary.last_epoch);
    log::info(
        "run {} finished: best epoch {} val acc {:.2f}% | PrivateTest acc {:.2f}% "
        "macro-F1 {:.3f} | {:.0f} s",
        record.id, summary.best_epoch, 100 * summary.best_val_accuracy, 100 * summary.test_accuracy,
        summary.test_macro_f1, summary.duration_s);
  } catch (const Interrupted&) {
    mlflow.end(mirror::MlflowStatus::Killed);
    throw;
  } catch (const ClaimLost&) {
    throw;  // its new owner goes on mirroring the same MLflow run
  } catch (...) {
    mlflow.end(mirror::MlflowStatus::Failed);
    throw;
  }
}

// LibTorch's CPU allocator frees every activation buffer at the end of a step. glibc hands
// blocks above its mmap threshold back to the kernel, so the next step page-faults and
// zeroes them again: on 2 cores that is a third of the CPU time in the kernel. Keeping them
// in the heap measured +15% training images/s for simple_cnn (261 -> 301, bench/README.md).
void keepFreedTensorMemoryInTheHeap() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace

std::string runId(const std::string& experiment, const std::string& config_hash) {
  return core::hashHex(experiment + "/" + config_hash).substr(0, 12);
}

namespace {

/// The runs this invocation works on: every cell, or the one `cell` names.
std::vector<std::size_t> cellsToRun(const config::ExperimentGrid& experiment, int cell) {
  std::vector<std::size_t> cells;
  if (cell < 0) {
    for (std::size_t i = 0; i < experiment.runs.size(); ++i) cells.push_back(i);
    return cells;
  }
  if (static_cast<std::size_t>(cell) >= experiment.runs.size()) {
    throw ConfigError(fmt::format("--cell {}: experiment {} has {} cell(s), numbered 0 to {}", cell,
                                  experiment.name, experiment.runs.size(),
                                  experiment.runs.size() - 1));
  }
  return {static_cast<std::size_t>(cell)};
}

/// Everything one pass over the grid needs, shared by the claims of one invocation.
struct GridContext {
  const config::ExperimentGrid& experiment;
  const GridRunOptions& options;
  tracking::SqliteStore& store;
  DatasetMemo& datasets;
  GridOutcome& outcome;
  std::string host;
  std::int64_t pid;
  std::string retry_failed_before;
};

enum class CellState { Done, Held };

// Trains a claimed run under `token` and records how it ended.
void trainClaimedRun(GridContext& grid, const config::ResolvedRun& run,
                     const tracking::RunRecord& record, const std::string& token) {
  auto& store = grid.store;
  store.writeAsOwner(token);
  try {
    const ClaimKeeper keeper(grid.options.db_path, grid.options.journal, record.id, token,
                             grid.options.claim_timeout_s / 4);
    trainRun(run, record, store, grid.datasets, grid.options);
    ++grid.outcome.finished;
  } catch (const ClaimLost& error) {
    // Another process trains it now: nothing of ours was written after the takeover.
    log::warn("run {}: {}", record.id, error.what());
    ++grid.outcome.lost;
  } catch (const Interrupted& stop) {
    store.interruptRun(record.id, token, stop.what());
    store.writeAsOwner("");
    log::warn(
        "run {} interrupted: its claim is released and its last checkpoint kept; the same "
        "command resumes it",
        record.id);
    throw;
  } catch (const StoreError&) {
    throw;  // the store itself is broken: nothing more can be recorded
  } catch (const DataError& error) {
    // Every run reads the same data: record the failure once and stop the grid.
    store.failRun(record.id, error.what());
    throw;
  } catch (const std::exception& error) {
    log::error("run {} failed: {}", record.id, error.what());
    store.failRun(record.id, error.what());
    ++grid.outcome.failed;
  }
  store.writeAsOwner("");
}

// One attempt at a cell: claim it and train it, or learn it is done or held.
CellState tryCell(GridContext& grid, std::size_t index, bool first_look) {
  const auto& run = grid.experiment.runs[index];
  const auto record = recordFor(grid.experiment, run);
  const std::string token = tracking::newClaimToken();
  const auto claim = grid.store.claimRun({record.id, grid.host, grid.pid, token,
                                          grid.options.claim_timeout_s, grid.retry_failed_before});
  const std::string where =
      fmt::format("[{}/{}] {} ({})", index + 1, grid.experiment.runs.size(), run.name, record.id);
  switch (claim.result) {
    case tracking::ClaimResult::Finished:
      if (first_look) {
        log::info("{}: already finished, skipped", where);
        ++grid.outcome.skipped;
      }
      return CellState::Done;
    case tracking::ClaimResult::FailedLately:
      log::info("{}: failed in this invocation (another worker); not retried", where);
      ++grid.outcome.skipped;
      return CellState::Done;
    case tracking::ClaimResult::HeldByOther:
      if (first_look) {
        log::info("{}: held by {}:{} (heartbeat {:.0f} s ago), skipped", where, claim.holder.host,
                  claim.holder.pid, claim.holder.heartbeat_age_s);
      }
      return CellState::Held;
    case tracking::ClaimResult::TakenOver:
      log::info(
          "{}: taking over from {}:{}, whose claim is stale (heartbeat {:.0f} s ago or "
          "process gone)",
          where, claim.holder.host, claim.holder.pid, claim.holder.heartbeat_age_s);
      break;
    case tracking::ClaimResult::Claimed:
      log::info("{}", where);
      break;
  }
  if (claim.previous == tracking::RunStatus::Failed) {
    // A failed run starts over: its checkpoints may hold the state that failed.
    fs::remove_all(fs::path(grid.options.results_dir) / "runs" / record.id);
    log::info("run {} failed before: restarting from scratch", record.id);
  }
  trainClaimedRun(grid, run, record, token);
  return CellState::Done;
}

}  // namespace

GridOutcome runGrid(const config::ExperimentGrid& experiment, const GridRunOptions& options) {
  keepFreedTensorMemoryInTheHeap();
  // Every run's device is checked before the store is touched: CUDA asked for on a machine
  // without it is one clear error, not a grid of failed runs.
  for (const auto& run : experiment.runs)
    resolveDevice(options.device.empty() ? run.config.train.device : options.device);
  std::vector<std::size_t> pending = cellsToRun(experiment, options.cell);
  tracking::SqliteStore store(options.db_path, tracking::OpenMode::ReadWrite, options.journal);
  store.ensureExperiment(experiment.name, experiment.source, experiment.grid_keys);
  // Register the cells first, so `ferlab ls` shows what is still queued. A shard (one cell)
  // registers only its own, so merged shards never claim runs they did not train.
  for (const std::size_t i : pending) store.ensureRun(recordFor(experiment, experiment.runs[i]));

  GridOutcome outcome;
  DatasetMemo datasets;
  GridContext grid{
      experiment,
      options,
      store,
      datasets,
      outcome,
      tracking::thisHost(),
      static_cast<std::int64_t>(::getpid()),
      options.retry_failed_before.empty() ? core::utcNowIso8601() : options.retry_failed_before};
  const auto poll = std::chrono::duration<double>(std::min(5.0, options.claim_timeout_s / 4));
  for (bool first_look = true; !pending.empty(); first_look = false) {
    std::vector<std::size_t> held;
    for (const std::size_t i : pending) {
      if (tryCell(grid, i, first_look) == CellState::Held) held.push_back(i);
    }
    pending = std::move(held);
    if (pending.empty()) break;
    if (!options.wait_for_held) {
      outcome.held = static_cast<int>(pending.size());
      break;
    }
    // Workers wait for the others' runs to end, ready to take over one whose owner dies.
    std::this_thread::sleep_for(poll);
    core::throwIfStopRequested("while waiting for runs other processes hold");
  }
  return outcome;
}

}  // namespace ferlab::train
