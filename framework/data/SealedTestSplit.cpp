#include "framework/data/SealedTestSplit.h"

#include <cstring>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::data {

namespace {

/// The samples of `dataset` at `indices`, in that order, with the dataset's metadata.
Dataset samplesAt(const Dataset& dataset, const std::vector<std::int64_t>& indices) {
  const std::size_t per_image =
      static_cast<std::size_t>(dataset.image_size) * static_cast<std::size_t>(dataset.image_size);
  Dataset part;
  part.image_size = dataset.image_size;
  part.class_names = dataset.class_names;
  part.key = dataset.key;
  part.alignment = dataset.alignment;
  part.pixels.resize(indices.size() * per_image);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const auto source = static_cast<std::size_t>(indices[i]);
    std::memcpy(part.pixels.data() + i * per_image, dataset.pixels.data() + source * per_image,
                per_image);
    part.labels.push_back(dataset.labels[source]);
    part.splits.push_back(dataset.splits[source]);
    if (!dataset.sample_ids.empty()) part.sample_ids.push_back(dataset.sample_ids[source]);
  }
  return part;
}

}  // namespace

// The one place that writes a SealedTestSplit's members.
class SplitSealer {
 public:
  static ProtocolSplits seal(const Dataset& dataset) {
    const std::size_t per_image =
        static_cast<std::size_t>(dataset.image_size) * static_cast<std::size_t>(dataset.image_size);
    if (dataset.labels.size() != dataset.splits.size() ||
        dataset.pixels.size() != dataset.size() * per_image ||
        (!dataset.sample_ids.empty() && dataset.sample_ids.size() != dataset.size())) {
      throw DataError(
          fmt::format("dataset '{}': {} labels, {} splits, {} ids and {} pixels do "
                      "not match",
                      dataset.key, dataset.size(), dataset.splits.size(), dataset.sample_ids.size(),
                      dataset.pixels.size()));
    }
    ProtocolSplits splits;
    std::vector<std::int64_t> test_indices;
    for (std::size_t i = 0; i < dataset.size(); ++i) {
      auto& target =
          dataset.splits[i] == Split::Test ? test_indices : splits.selection_source_indices;
      target.push_back(static_cast<std::int64_t>(i));
    }
    splits.selection = samplesAt(dataset, splits.selection_source_indices);
    splits.test.test_ = samplesAt(dataset, test_indices);
    splits.test.source_indices_ = std::move(test_indices);
    return splits;
  }
};

ProtocolSplits sealTestSplit(const Dataset& dataset) {
  return SplitSealer::seal(dataset);
}

}  // namespace ferlab::data
