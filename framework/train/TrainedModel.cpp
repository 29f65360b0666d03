#include "framework/train/TrainedModel.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/data/DatasetCache.h"
#include "framework/data/SealedTestSplit.h"
#include "framework/train/Checkpoints.h"
#include "framework/train/DeviceDataset.h"
#include "framework/train/GridRunner.h"
#include "framework/train/Trainer.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

}  // namespace

TrainedModel::TrainedModel(const tracking::RunRow& row, const std::string& results_dir,
                           const std::string& device)
    : id_(row.record.id),
      config_(config::runConfigFromResolvedJson(row.record.config_json, "run " + id_)),
      device_(resolveDevice(device.empty() ? "cpu" : device)) {
  const fs::path run_dir = fs::path(results_dir) / "runs" / id_;
  normalization_ = readNormalization(run_dir.string());
  // The checkpoint holds every weight: skip the backbone's ImageNet file.
  config::ModelConfig model_config = config_.model;
  model_config.weights.clear();
  model_ = models::makeModel(model_config, config_.data.image_size, normalization_);
  loadCheckpoint((run_dir / "best.pt").string());
  model_->to(device_);
  model_->eval();
}

torch::Tensor TrainedModel::normalize(const torch::Tensor& images) const {
  // As DeviceDataset::normalize: (x / 255 - mean) / std.
  return (images.to(device_).to(torch::kFloat32) / 255.0 - normalization_.mean) /
         normalization_.std;
}

torch::Tensor TrainedModel::classify(const std::uint8_t* pixels, std::int64_t count) const {
  torch::NoGradGuard no_grad;
  const std::int64_t side = config_.data.image_size;
  const std::int64_t k = config_.model.num_classes;
  if (count == 0) return torch::zeros({0, k}, torch::kFloat32);
  // A view of the caller's bytes; each batch is copied to the device by normalize().
  const auto images =
      torch::from_blob(const_cast<std::uint8_t*>(pixels), {count, 1, side, side}, torch::kUInt8);
  const std::int64_t batch = std::max(1, config_.eval.batch_size);
  std::vector<torch::Tensor> batches;
  for (std::int64_t begin = 0; begin < count; begin += batch) {
    const auto inputs = normalize(images.slice(0, begin, std::min(count, begin + batch)));
    // The run's test-time augmentation, exactly as evaluation applies it.
    batches.push_back(predictProbabilities(*model_, inputs, config_.eval).to(torch::kCPU));
  }
  return torch::cat(batches).contiguous();
}

// Written by the trainer beside config.json; older runs lack it, so the statistics are
// measured again on their training split (from the dataset cache when there is one).
models::InputNormalization TrainedModel::readNormalization(const std::string& run_dir) const {
  const fs::path path = fs::path(run_dir) / kNormalizationFile;
  if (std::ifstream in{path}) {
    try {
      const json stored = json::parse(in);
      return {stored.at("mean").get<float>(), stored.at("std").get<float>()};
    } catch (const json::exception& error) {
      throw TrainError(
          fmt::format("{}: unreadable normalisation: {}", path.string(), error.what()));
    }
  }
  log::info("{} not found: measuring the input normalisation on the run's training data",
            path.string());
  const DeviceDataset device_data(data::sealTestSplit(data::loadDataset(config_.data)).selection,
                                  torch::kCPU);
  return {device_data.mean(), device_data.std()};
}

void TrainedModel::loadCheckpoint(const std::string& path) {
  if (!fs::exists(path)) {
    throw TrainError(
        fmt::format("{}: checkpoint not found (run {} has no selected epoch yet)", path, id_));
  }
  loadModelCheckpoint(*model_, path, torch::kCPU);
}

std::vector<std::string> runClassNames(const tracking::SqliteStore& store, const std::string& id,
                                       int num_classes) {
  for (const auto& split : store.splitMetrics(id)) {
    if (static_cast<int>(split.classes.size()) == num_classes) {
      std::vector<std::string> names;
      for (const auto& c : split.classes) names.push_back(c.name);
      return names;
    }
  }
  if (num_classes == static_cast<int>(data::fer2013ClassNames().size()))
    return data::fer2013ClassNames();
  std::vector<std::string> names;
  for (int i = 0; i < num_classes; ++i) names.push_back(fmt::format("class{}", i));
  return names;
}

}  // namespace ferlab::train
