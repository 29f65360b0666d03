#pragma once
// Renders a confusion matrix as a heat map PNG for TensorBoard's image dashboard: one cell
// per (true, predicted) class pair, shaded by the fraction of the true class's samples
// (row-normalised; white 0 to dark blue 1) and labelled with its count, class names along
// the left (true) and top (predicted) edges. Drawn with OpenCV (imgproc) and encoded with
// cv::imencode.

#include <cstdint>
#include <string>
#include <vector>

namespace ferlab::mirror {

/// A rendered image: PNG bytes and their size.
struct PngImage {
  std::string png;                          ///< the encoded file
  int height = 0, width = 0, channels = 3;  ///< pixels; 3 = RGB
};

/// `counts`: row-major k x k, row = true class, column = predicted class (as
/// tracking::SplitMetrics::confusion); k = class_names.size(). Throws MirrorError when the
/// sizes disagree or OpenCV cannot encode the PNG.
PngImage renderConfusionPng(const std::vector<std::int64_t>& counts,
                            const std::vector<std::string>& class_names, const std::string& title);

}  // namespace ferlab::mirror
