#pragma once
// Preparing an image of any size, grey or colour, the way a run's training data was prepared,
// so a model trained on FER2013's 48 x 48 grey crops can be evaluated on another dataset
// (`ferlab evaluate`). Training data goes: JPEG -> grey (cv::IMREAD_GRAYSCALE) -> exactly
// data.image_size pixels -> data.align; here:
//
//   1. decodeGreyImage: cv::imdecode with cv::IMREAD_GRAYSCALE, the decoder the FER2013 reader
//      uses, so a colour image becomes grey the way OpenCV's codecs convert it (ITU-R BT.601
//      luma, Y = 0.299 R + 0.587 G + 0.114 B), and a FER2013 JPEG decodes to the same bytes
//      it had in training.
//   2. ImagePreparer::prepare, by the run's data.align:
//      - "eyes": FaceAligner::align with the run's settings (alignOptionsFrom(data):
//        image_size, align_margin, align_upsample; the run's cascade_dir), on the image at its
//        own resolution. On an image_size x image_size crop this is exactly what training did
//        to every image (alignDataset), bit for bit. On a larger image the face is found at
//        full resolution and cropped and resized in one warp, shrunk by area averaging
//        (INTER_AREA) when it is more than halved (FaceAligner.h: cropFace), so a 300-pixel
//        face does not alias; an image with no face is resized whole with INTER_AREA, as
//        the aligner always does.
//      - "none": the whole image resized to image_size x image_size (a non-square image is
//        stretched, as the aligner's no-face case does): INTER_AREA when shrinking (no side
//        below image_size), because
//        it averages every source pixel into the output (OpenCV's recommended decimation; a
//        bilinear shrink samples 4 pixels per output and aliases), INTER_LINEAR when
//        enlarging (INTER_AREA then degenerates to nearest-neighbour blocks). An image of
//        exactly image_size is left untouched, as training left it.
//   The model's normalisation ((x / 255 - mean) / std with the training split's statistics)
//   comes after, in train/TrainedModel.h.
// Other datasets are expected to hold face crops, as FER2013 does; with data.align = "none"
// no face is searched for.

#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "framework/config/RunConfig.h"
#include "framework/data/FaceAligner.h"

namespace ferlab::data {

/// Decodes an encoded image file (JPEG, PNG, BMP, ...) to an 8-bit grey CV_8UC1 image at its
/// own size (cv::IMREAD_GRAYSCALE). Throws DataError "<path>: cannot decode image" for bytes
/// OpenCV cannot decode (an empty, truncated or non-image file).
cv::Mat decodeGreyImage(const std::string& bytes, const std::string& path);

/// One prepared image.
struct PreparedImage {
  cv::Mat pixels;  ///< CV_8UC1, image_size x image_size, continuous
  /// The aligner's outcome for data.align = "eyes"; None with data.align = "none".
  AlignOutcome outcome = AlignOutcome::None;
};

class ImagePreparer {
 public:
  /// Takes the run's data settings (image_size, align, align_margin, align_upsample,
  /// cascade_dir). Throws DataError naming a missing cascade file when data.align = "eyes".
  /// Not thread-safe (FaceAligner is not): give each thread its own.
  explicit ImagePreparer(const config::DataConfig& data);

  /// `grey`: CV_8UC1 of any size (decodeGreyImage). Returns image_size x image_size pixels
  /// prepared as described above. Throws DataError for an empty or non-CV_8UC1 image.
  PreparedImage prepare(const cv::Mat& grey) const;

  int imageSize() const { return image_size_; }
  bool aligns() const { return aligner_ != nullptr; }

 private:
  int image_size_ = 48;
  AlignOptions options_;
  std::unique_ptr<FaceAligner> aligner_;  // data.align = "eyes" only
};

}  // namespace ferlab::data
