#pragma once
// Mirrors one training run into TensorBoard (`ferlab run --tensorboard DIR`): one event file
// (EventFileWriter.h) in DIR/<run name>_<run id>/, holding per epoch (step = the 1-based
// epoch) the scalars train/loss, train/accuracy, val/loss, val/accuracy, val/macro_f1
// (accuracies as fractions in [0, 1]), lr and images_per_sec (training images/s), and at
// the end the confusion matrices of PublicTest and PrivateTest on the selected checkpoint as
// heat-map images (ConfusionImage.h; tags confusion_matrix/<split>).
//
// The SQLite store stays the source of truth (DESIGN.md, "Mirrors"): a mirror that fails logs
// one warning and writes nothing more for that run. No member throws; training never waits
// for more than one buffered file write per record.

#include <memory>
#include <string>
#include <vector>

#include "framework/tracking/SqliteStore.h"

namespace ferlab::mirror {

class EventFileWriter;

class TensorBoardMirror {
 public:
  /// Nothing is written before the first record; an empty `dir` makes a disabled mirror.
  TensorBoardMirror(std::string dir, const std::string& run_name, const std::string& run_id);
  ~TensorBoardMirror();
  TensorBoardMirror(const TensorBoardMirror&) = delete;
  TensorBoardMirror& operator=(const TensorBoardMirror&) = delete;

  /// The folder the run's event file goes into: DIR/<run name>_<run id>, the name's
  /// characters other than letters, digits and "._-=[],+" replaced by '_'.
  static std::string runFolder(const std::string& dir, const std::string& run_name,
                               const std::string& run_id);

  /// Appends the epoch's scalars at step epoch.epoch.
  void epoch(const tracking::EpochRecord& epoch);

  /// Appends the split's confusion matrix (split.confusion) as an image at `step`.
  void confusion(const tracking::SplitMetrics& split, const std::vector<std::string>& class_names,
                 int step);

  /// False once a write failed (or when the folder was empty).
  bool enabled() const { return enabled_; }

 private:
  template <typename Write>
  void guarded(Write&& write);

  std::string folder_;
  bool enabled_ = true;
  std::unique_ptr<EventFileWriter> writer_;
};

}  // namespace ferlab::mirror
