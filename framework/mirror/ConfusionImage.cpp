#include "framework/mirror/ConfusionImage.h"

#include <algorithm>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "framework/core/Errors.h"

namespace ferlab::mirror {

PngImage renderConfusionPng(const std::vector<std::int64_t>& counts,
                            const std::vector<std::string>& class_names, const std::string& title) {
  const int k = static_cast<int>(class_names.size());
  if (k == 0 || counts.size() != static_cast<std::size_t>(k) * k) {
    throw MirrorError(
        fmt::format("confusion matrix of {}: {} counts for {} classes", title, counts.size(), k));
  }
  constexpr int kCell = 56, kLeft = 110, kTop = 70;
  const int width = kLeft + k * kCell + 10, height = kTop + k * kCell + 10;
  cv::Mat image(height, width, CV_8UC3, cv::Scalar(255, 255, 255));  // BGR
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  cv::putText(image, title, {8, 22}, font, 0.55, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  cv::putText(image, "true \\ pred.", {6, kTop - 10}, font, 0.4, cv::Scalar(90, 90, 90), 1,
              cv::LINE_AA);
  for (int t = 0; t < k; ++t) {
    std::int64_t row_total = 0;
    for (int p = 0; p < k; ++p) row_total += counts[t * k + p];
    const std::string name = class_names[t].substr(0, 9);
    cv::putText(image, name, {6, kTop + t * kCell + kCell / 2 + 5}, font, 0.45, cv::Scalar(0, 0, 0),
                1, cv::LINE_AA);
    cv::putText(image, name, {kLeft + t * kCell + 2, kTop - 10}, font, 0.35, cv::Scalar(0, 0, 0), 1,
                cv::LINE_AA);
    for (int p = 0; p < k; ++p) {
      const std::int64_t count = counts[t * k + p];
      const double share = row_total > 0 ? static_cast<double>(count) / row_total : 0.0;
      // White to (BGR) dark blue (139, 48, 8).
      const cv::Scalar colour(255 - share * (255 - 139), 255 - share * (255 - 48),
                              255 - share * (255 - 8));
      const cv::Rect cell(kLeft + p * kCell, kTop + t * kCell, kCell, kCell);
      cv::rectangle(image, cell, colour, cv::FILLED);
      cv::rectangle(image, cell, cv::Scalar(200, 200, 200), 1);
      const cv::Scalar ink = share > 0.5 ? cv::Scalar(255, 255, 255) : cv::Scalar(0, 0, 0);
      cv::putText(image, std::to_string(count), {cell.x + 6, cell.y + kCell / 2 + 5}, font, 0.45,
                  ink, 1, cv::LINE_AA);
    }
  }
  std::vector<unsigned char> png;
  if (!cv::imencode(".png", image, png)) {
    throw MirrorError(fmt::format("confusion matrix of {}: OpenCV cannot encode a PNG", title));
  }
  return {std::string(png.begin(), png.end()), height, width, 3};
}

}  // namespace ferlab::mirror
