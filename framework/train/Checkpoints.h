#pragma once
// The checkpoint files of one run folder, written in an order that survives a kill at any
// instant (DESIGN.md: nothing recorded is lost, nothing unrecorded is used):
//   1. best.e<N>.pt  written (pending) when epoch N is the best so far
//   2. the store commits epoch N (Trainer's epoch callback)
//   3. last.pt       written: the commit point, holding epoch N, its best epoch, the trainer
//                    state and the checkpoint's owner (store and run)
//   4. best.e<N>.pt  renamed to best.pt
// Each file is written to a temporary name and renamed. On resume, reconcile() finishes an
// interrupted step 4 and deletes a pending best of an epoch last.pt never committed, so best.pt
// is always the best epoch last.pt knows (a kill between the old two saves left best.pt from
// an unrecorded epoch).

#include <exception>
#include <functional>
#include <optional>
#include <string>

#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

namespace ferlab::train {

/// Who a checkpoint belongs to: the store (SqliteStore::storeId) and the run id.
struct CheckpointOwner {
  std::string store_id;
  std::string run_id;
  bool operator==(const CheckpointOwner& other) const {
    return store_id == other.store_id && run_id == other.run_id;
  }
  bool operator!=(const CheckpointOwner& other) const { return !(*this == other); }
};

class RunCheckpoints {
 public:
  explicit RunCheckpoints(std::string run_dir) : run_dir_(std::move(run_dir)) {}

  std::string bestPath() const { return run_dir_ + "/best.pt"; }
  std::string lastPath() const { return run_dir_ + "/last.pt"; }
  std::string pendingBestPath(int epoch) const;

  /// Step 4: the pending best of `epoch` becomes best.pt.
  void promoteBest(int epoch) const;
  /// On resume, with last.pt's best epoch: promotes its pending best if the kill came before
  /// step 4, deletes every other pending best, and checks that best.pt holds `best_epoch`
  /// (throws TrainError when it does not).
  void reconcile(int best_epoch) const;
  /// Without last.pt nothing was committed: deletes best.pt and pending bests left by a run
  /// killed in its first epoch.
  void clearUncommitted() const;

 private:
  std::string run_dir_;
};

/// Writes `archive` to `path` through a temporary file and a rename; `before_rename`, when
/// given, sees the complete temporary file first (last.pt's hash is recorded there, so the
/// store knows every last.pt that ever became current). A failed write (a full disk) removes
/// the temporary file and throws TrainError naming `path` and the system's reason; `path`
/// itself is untouched.
void saveAtomically(torch::serialize::OutputArchive& archive, const std::string& path,
                    const std::function<void(const std::string& temporary)>& before_rename = {});

void writeScalar(torch::serialize::OutputArchive& archive, const std::string& key, double value);
/// Throws c10::Error when `key` is missing.
double readScalar(torch::serialize::InputArchive& archive, const std::string& key);

void writeOwner(torch::serialize::OutputArchive& archive, const CheckpointOwner& owner);
/// Why LibTorch could not read a checkpoint, for a TrainError: c10::Error's message without
/// its C++ backtrace, or any other exception's what(). Loading a damaged file throws more than
/// c10::Error: a damaged TorchScript type source inside the archive (code/__torch__.py) throws
/// torch::jit::ErrorReport, a plain std::exception (found by fuzzing, tests/fuzz/crashes/).
std::string checkpointErrorReason(const std::exception& error);

/// Loads `model`'s parameters and buffers from the checkpoint at `path` (best.pt: the module
/// saved at the top of the archive) onto `device`. Throws TrainError "<path>: cannot load
/// checkpoint: <reason>" when the file cannot be read or does not hold `model`'s tensors.
void loadModelCheckpoint(torch::nn::Module& model, const std::string& path,
                         const torch::Device& device);

/// The owner recorded in the checkpoint at `path`; nullopt when it records none (written
/// before owners were recorded). Throws TrainError when the file cannot be read.
std::optional<CheckpointOwner> readOwner(const std::string& path);

}  // namespace ferlab::train
