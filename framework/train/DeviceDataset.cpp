#include "framework/train/DeviceDataset.h"

#include <stdexcept>

#include <torch/types.h>

#include "framework/core/Errors.h"

namespace ferlab::train {

DeviceDataset::DeviceDataset(const data::Dataset& selection, torch::Device device) {
  if (!selection.indicesOf(data::Split::Test).empty()) {
    throw std::logic_error(
        "DeviceDataset: PrivateTest samples outside their seal; build it from "
        "data::sealTestSplit(dataset).selection");
  }
  copyToDevice(selection, device);
  const auto& train = indices(data::Split::Train);
  if (train.numel() == 0) throw DataError("the dataset has no training images");
  const auto train_pixels = images_.index_select(0, train).to(torch::kFloat64).div_(255.0);
  mean_ = static_cast<float>(train_pixels.mean().item<double>());
  std_ = static_cast<float>(train_pixels.std().item<double>());
  if (!(std_ > 1e-6f)) std_ = 1.0f;  // constant images: avoid dividing by zero
}

DeviceDataset::DeviceDataset(const data::Dataset& test, torch::Device device, float mean, float std,
                             const data::TestSplitKey&)
    : mean_(mean), std_(std) {
  copyToDevice(test, device);
}

void DeviceDataset::copyToDevice(const data::Dataset& dataset, torch::Device device) {
  num_classes_ = static_cast<int>(dataset.class_names.size());
  image_size_ = dataset.image_size;
  const auto n = static_cast<std::int64_t>(dataset.size());
  const std::int64_t side = dataset.image_size;
  // from_blob views the vectors' memory; clone() / to() copy before they can go away.
  auto pixels = torch::from_blob(const_cast<std::uint8_t*>(dataset.pixels.data()),
                                 {n, 1, side, side}, torch::kUInt8);
  auto labels =
      torch::from_blob(const_cast<std::int64_t*>(dataset.labels.data()), {n}, torch::kInt64);
  images_ = pixels.to(device, /*non_blocking=*/false, /*copy=*/true);
  labels_ = labels.to(device, false, true);

  for (const auto split : {data::Split::Train, data::Split::Val, data::Split::Test}) {
    const auto positions = dataset.indicesOf(split);
    std::vector<std::int64_t> as_int64(positions.begin(), positions.end());
    split_indices_[static_cast<int>(split)] = torch::tensor(as_int64, torch::kInt64).to(device);
  }
  train_class_counts_ = dataset.classCounts(data::Split::Train);
}

const torch::Tensor& DeviceDataset::indices(data::Split split) const {
  return split_indices_[static_cast<int>(split)];
}

torch::Tensor DeviceDataset::images(const torch::Tensor& sample_indices) const {
  return images_.index_select(0, sample_indices);
}

torch::Tensor DeviceDataset::labels(const torch::Tensor& sample_indices) const {
  return labels_.index_select(0, sample_indices);
}

torch::Tensor DeviceDataset::normalize(const torch::Tensor& images_u8) const {
  // One fused multiply-add: x * (1 / (255 std)) - mean / std.
  const double scale = 1.0 / (255.0 * std_);
  const double shift = -static_cast<double>(mean_) / std_;
  return images_u8.to(torch::kFloat32).mul_(scale).add_(shift);
}

}  // namespace ferlab::train
