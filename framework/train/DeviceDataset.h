#pragma once
// The dataset resident on the training device: all images as one uint8 tensor, labels and
// per-split index tensors. Batches are gathered with index_select and normalised on the
// device, so the hot loop never touches a per-image loader (DESIGN.md, "Performance").

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "framework/data/Dataset.h"
#include "framework/data/SealedTestSplit.h"

namespace ferlab::train {

class DeviceDataset {
 public:
  /// Copies the training and validation samples of `selection` to `device` once (about 75 MB
  /// for FER2013). The normalisation mean and standard deviation are measured on the training
  /// split's pixels (scaled to [0, 1]). PrivateTest stays sealed: `selection` is
  /// data::sealTestSplit(dataset).selection, and a PrivateTest sample in it is a programming
  /// error (std::logic_error). Throws DataError when the training split is empty.
  DeviceDataset(const data::Dataset& selection, torch::Device device);

  /// The sealed PrivateTest on `device` for the once-per-run final evaluation: `test` is what
  /// SealedTestSplit::open returned, normalised with the training statistics `mean` and `std`
  /// of the run's selection DeviceDataset. Only a TestSplitKey holder can call it.
  DeviceDataset(const data::Dataset& test, torch::Device device, float mean, float std,
                const data::TestSplitKey& key);

  /// Sample indices of `split`: int64 [n] on the device, ascending.
  const torch::Tensor& indices(data::Split split) const;
  std::int64_t count(data::Split split) const { return indices(split).size(0); }

  /// uint8 [B, 1, S, S] images for int64 [B] sample indices (on the device).
  torch::Tensor images(const torch::Tensor& sample_indices) const;
  /// int64 [B] labels for int64 [B] sample indices.
  torch::Tensor labels(const torch::Tensor& sample_indices) const;
  /// uint8 [B, 1, S, S] -> float32 [B, 1, S, S]: (x / 255 - mean) / std.
  torch::Tensor normalize(const torch::Tensor& images_u8) const;

  float mean() const { return mean_; }
  float std() const { return std_; }
  int numClasses() const { return num_classes_; }
  int imageSize() const { return image_size_; }
  torch::Device device() const { return images_.device(); }
  /// Images per class in the training split (class-weight and balance statistics).
  const std::vector<std::int64_t>& trainClassCounts() const { return train_class_counts_; }

 private:
  torch::Tensor images_;  // uint8 [N, 1, S, S]
  torch::Tensor labels_;  // int64 [N]
  torch::Tensor split_indices_[3];
  void copyToDevice(const data::Dataset& dataset, torch::Device device);
  std::vector<std::int64_t> train_class_counts_;
  float mean_ = 0.5f, std_ = 0.25f;
  int num_classes_ = 0;
  int image_size_ = 0;
};

}  // namespace ferlab::train
