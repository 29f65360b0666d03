#include "framework/data/ImagePreparer.h"

#include <memory>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "framework/core/Errors.h"

namespace ferlab::data {

cv::Mat decodeGreyImage(const std::string& bytes, const std::string& path) {
  cv::Mat image;
  if (!bytes.empty()) {
    const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8U,
                          const_cast<char*>(bytes.data()));
    try {
      image = cv::imdecode(encoded, cv::IMREAD_GRAYSCALE);
    } catch (const cv::Exception&) {
      image.release();  // reported below, with the file name OpenCV does not know
    }
  }
  if (image.empty()) throw DataError(fmt::format("{}: cannot decode image", path));
  return image;
}

ImagePreparer::ImagePreparer(const config::DataConfig& data)
    : image_size_(data.image_size), options_(alignOptionsFrom(data)) {
  if (image_size_ <= 0)
    throw DataError(fmt::format("data.image_size = {}: must be positive", image_size_));
  if (data.align == config::Align::Eyes) aligner_ = std::make_unique<FaceAligner>(data.cascade_dir);
}

PreparedImage ImagePreparer::prepare(const cv::Mat& grey) const {
  if (grey.empty() || grey.type() != CV_8UC1) {
    throw DataError(
        fmt::format("image preparation needs a non-empty 8-bit grey image, got {}x{} "
                    "of type {}",
                    grey.cols, grey.rows, grey.type()));
  }
  PreparedImage prepared;
  if (aligner_ != nullptr) {
    AlignResult result = aligner_->align(grey, options_);
    prepared.pixels = std::move(result.aligned);
    prepared.outcome = result.outcome;
  } else if (grey.cols == image_size_ && grey.rows == image_size_) {
    prepared.pixels = grey.clone();
  } else {
    const bool shrinking = grey.cols >= image_size_ && grey.rows >= image_size_;
    cv::resize(grey, prepared.pixels, cv::Size(image_size_, image_size_), 0, 0,
               shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  if (!prepared.pixels.isContinuous()) prepared.pixels = prepared.pixels.clone();
  return prepared;
}

}  // namespace ferlab::data
