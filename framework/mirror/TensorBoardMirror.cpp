#include "framework/mirror/TensorBoardMirror.h"

#include <cctype>
#include <exception>
#include <filesystem>
#include <utility>

#include "framework/core/Log.h"
#include "framework/mirror/ConfusionImage.h"
#include "framework/mirror/EventFileWriter.h"

namespace ferlab::mirror {

TensorBoardMirror::TensorBoardMirror(std::string dir, const std::string& run_name,
                                     const std::string& run_id)
    : folder_(dir.empty() ? std::string() : runFolder(dir, run_name, run_id)),
      enabled_(!dir.empty()) {}

TensorBoardMirror::~TensorBoardMirror() = default;

std::string TensorBoardMirror::runFolder(const std::string& dir, const std::string& run_name,
                                         const std::string& run_id) {
  std::string name;
  for (const char c : run_name) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) ||
                      std::string("._-=[],+").find(c) != std::string::npos;
    name += keep ? c : '_';
  }
  if (name.empty() || name == "." || name == "..") name = "run";
  return (std::filesystem::path(dir) / (name + "_" + run_id)).string();
}

template <typename Write>
void TensorBoardMirror::guarded(Write&& write) {
  if (!enabled_) return;
  try {
    if (!writer_) writer_ = std::make_unique<EventFileWriter>(folder_);
    write(*writer_);
  } catch (const std::exception& error) {
    enabled_ = false;
    writer_.reset();
    log::warn("TensorBoard mirror off for this run ({}); the store keeps everything", error.what());
  }
}

void TensorBoardMirror::epoch(const tracking::EpochRecord& epoch) {
  guarded([&](EventFileWriter& writer) {
    const std::int64_t step = epoch.epoch;
    writer.addScalar("train/loss", step, epoch.train_loss);
    writer.addScalar("train/accuracy", step, epoch.train_accuracy);
    writer.addScalar("val/loss", step, epoch.val_loss);
    writer.addScalar("val/accuracy", step, epoch.val_accuracy);
    writer.addScalar("val/macro_f1", step, epoch.val_macro_f1);
    writer.addScalar("lr", step, epoch.lr);
    writer.addScalar("images_per_sec", step, epoch.images_per_sec);
  });
}

void TensorBoardMirror::confusion(const tracking::SplitMetrics& split,
                                  const std::vector<std::string>& class_names, int step) {
  guarded([&](EventFileWriter& writer) {
    const PngImage image =
        renderConfusionPng(split.confusion, class_names, "confusion matrix, " + split.split);
    writer.addImage("confusion_matrix/" + split.split, step, image.png, image.height, image.width,
                    image.channels);
  });
}

}  // namespace ferlab::mirror
