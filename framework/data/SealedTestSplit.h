#pragma once
// The FER2013 protocol, enforced by types: Training trains, PublicTest selects (early stopping,
// checkpoint, grid, ensemble choices), PrivateTest is evaluated once per run on the selected
// checkpoint and reported. sealTestSplit() separates a dataset into the samples that train and
// select (ProtocolSplits::selection, no PrivateTest image in it) and the PrivateTest samples
// behind a SealedTestSplit, whose images only a TestSplitKey opens. Only the final
// once-per-run evaluation (train/FinalEvaluation.h) can make a key, so code that trains or
// selects cannot read a PrivateTest image or label: it does not compile.
// (Several public FER2013 repositories pick their checkpoint on the test split; DESIGN.md,
// "Protocol".)

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/data/Dataset.h"

namespace ferlab::train {
class FinalEvaluation;
}  // namespace ferlab::train

namespace ferlab::data {

/// The right to open a SealedTestSplit; only train::FinalEvaluation can create one.
class TestSplitKey {
  TestSplitKey() = default;
  friend class ferlab::train::FinalEvaluation;
};

class SealedTestSplit {
 public:
  /// Number of PrivateTest images (3,589 for FER2013); counting them opens nothing.
  std::size_t size() const { return test_.size(); }

  /// The PrivateTest samples (every sample's split is Split::Test). Index i of this dataset is
  /// sample source_indices()[i] of the dataset it was sealed from.
  const Dataset& open(const TestSplitKey&) const { return test_; }
  const std::vector<std::int64_t>& source_indices() const { return source_indices_; }

 private:
  friend class SplitSealer;
  Dataset test_;
  std::vector<std::int64_t> source_indices_;
};

/// A dataset divided by the protocol.
struct ProtocolSplits {
  Dataset selection;  ///< Training + PublicTest samples, in the source order
  /// selection sample i is sample selection_source_indices[i] of the source dataset, so the
  /// recorded per-sample predictions keep the source's indices.
  std::vector<std::int64_t> selection_source_indices;
  SealedTestSplit test;
};

/// Separates `dataset` into its selection samples and its sealed PrivateTest; the key of both
/// halves is the dataset's. Throws DataError when the dataset is inconsistent (pixels, labels,
/// splits and ids of different lengths).
ProtocolSplits sealTestSplit(const Dataset& dataset);

}  // namespace ferlab::data
