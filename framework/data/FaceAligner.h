#pragma once
// Face detection and eye-based alignment with OpenCV's Haar cascades.
//
// Method (data.align = "eyes"):
//   1. Small crops (FER2013's 48 x 48) are upsampled by `upsample` (bicubic) so the face and
//      eyes are larger than the cascades' 24 x 24 / 20 x 20 training windows, and padded by
//      replicating their borders (their faces touch the edges).
//   2. The largest face is detected with haarcascade_frontalface_default.xml (Viola & Jones,
//      "Rapid Object Detection using a Boosted Cascade of Simple Features", CVPR 2001; the
//      cascade by Lienhart et al. 2002, shipped by OpenCV / Debian opencv-data).
//   3. Eyes are detected with haarcascade_eye.xml in the upper half of the face box (zoomed
//      to 200 pixels when smaller), ignoring its top fifth (hair, brows); the largest
//      detection left of the face centre and the largest right of it form the pair.
//   4. The image is rotated about the eye midpoint by the eye-line angle, so the eyes are
//      level, and the face box grown by `margin` of its side on every side is cropped
//      (pixels outside the image replicate the border) and resized to `image_size`.
//   Rotation, crop and resize are one cv::warpAffine (bilinear), so the image is resampled
//   once. No eye pair: step 4 without the rotation (FaceOnly). No face: the whole image
//   resized (None).
// Sources: OpenCV 4 docs, "Cascade Classifier" tutorial (objdetect module) and
// cv::CascadeClassifier::detectMultiScale; cv::getRotationMatrix2D / cv::warpAffine.
//
// A FaceAligner is not thread-safe (cv::CascadeClassifier keeps scratch buffers): give each
// thread its own; alignDataset does.

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/objdetect.hpp>

#include "framework/config/RunConfig.h"
#include "framework/data/Dataset.h"

namespace ferlab::data {

/// The cascade files alignment uses, by file name inside the cascade folder.
inline constexpr const char* kFaceCascadeFile = "haarcascade_frontalface_default.xml";
inline constexpr const char* kEyeCascadeFile = "haarcascade_eye.xml";
/// Version of the alignment method in this file, part of aligned dataset cache keys: bump it
/// whenever a change would align an image differently, so caches aligned the old way miss.
inline constexpr int kAlignMethodVersion = 1;

/// "" -> Debian opencv-data's folder (/usr/share/opencv4/haarcascades), else `cascade_dir`.
std::string resolveCascadeDir(const std::string& cascade_dir);

/// "haarcascade_frontalface_default.xml=<FNV-1a hex> haarcascade_eye.xml=<hex>": the cascade
/// files by name and content, for dataset cache keys (a different cascade version aligns
/// differently). Throws DataError naming a missing file.
std::string cascadeFingerprint(const std::string& cascade_dir);

struct AlignOptions {
  int image_size = 48;   ///< output side, pixels
  double margin = 0.2;   ///< grown on every side of the face box, fraction of its side
  int upsample = 4;      ///< factor applied to small images before detection, >= 1
  int small_side = 128;  ///< images whose longer side is below this many pixels are "small"
  /// Small images get replicated borders of this fraction of their (upsampled) side on
  /// every side before face detection, so a face touching the edges is still found.
  double crop_border = 0.25;
  /// An eye pair whose line is tilted more than this (degrees) is taken for a false
  /// detection (an eyebrow, a nostril) and ignored: the face is cropped unrotated.
  double max_eye_angle = 30.0;
};

/// From data.image_size / align_margin / align_upsample.
AlignOptions alignOptionsFrom(const config::DataConfig& config);

enum class AlignOutcome : std::uint8_t { Aligned, FaceOnly, None };
const char* alignOutcomeName(AlignOutcome outcome);  ///< "aligned" | "face_only" | "none"

struct AlignResult {
  cv::Mat aligned;  ///< CV_8UC1, image_size x image_size
  AlignOutcome outcome = AlignOutcome::None;
  cv::Rect face;                    ///< detected face box in input pixels (empty for None)
  cv::Point2f left_eye, right_eye;  ///< eye centres in input pixels (Aligned only)
  /// Angle of the eye line before rotation, degrees, positive when the eye on the image's
  /// right is lower (image y grows downwards); 0 unless Aligned.
  double eye_angle = 0.0;
  /// CV_64F 2 x 3 affine map from input pixels to `aligned` pixels (rotation, crop and
  /// scale); empty for None.
  cv::Mat transform;
};

/// Eye centres in input pixels and their angle; `found` false without a plausible pair.
struct EyePair {
  bool found = false;
  cv::Point2f left, right;  ///< left / right in the image (not the subject's)
  double angle = 0.0;       ///< degrees, as AlignResult::eye_angle
};

class FaceAligner {
 public:
  /// Loads kFaceCascadeFile and kEyeCascadeFile from resolveCascadeDir(cascade_dir). Throws
  /// DataError naming the missing or unreadable file (install opencv-data: scripts/setup.sh).
  explicit FaceAligner(const std::string& cascade_dir = "");

  /// Faces in a grey CV_8UC1 image at its own resolution (no upsampling), largest first.
  /// Boxes are in input pixels; faces smaller than `min_side` pixels are not searched for;
  /// `min_neighbors` is detectMultiScale's (higher: fewer, surer faces).
  std::vector<cv::Rect> detectFaces(const cv::Mat& grey, int min_side = 24,
                                    int min_neighbors = 5) const;

  /// The eye pair inside `face` (input pixels) of `grey`, searched in its upper half (zoomed
  /// so the face is at least 200 pixels wide).
  EyePair detectEyes(const cv::Mat& grey, const cv::Rect& face) const;

  /// The whole method above on one grey CV_8UC1 image of any size (a FER crop or a photo:
  /// the largest face is used). Throws DataError on an empty or non-CV_8UC1 image.
  AlignResult align(const cv::Mat& grey, const AlignOptions& options) const;

  /// Steps 3-4 for a face box already found in `grey` (input pixels): every face of a photo.
  /// `use_eyes` false crops the box without rotation (FaceOnly), as for data.align = "none".
  AlignResult alignFace(const cv::Mat& grey, const cv::Rect& face, const AlignOptions& options,
                        bool use_eyes = true) const;

 private:
  mutable cv::CascadeClassifier face_cascade_;
  mutable cv::CascadeClassifier eye_cascade_;
};

/// Crops the square box `face` grown by `margin` of its side per side out of `grey`, rotated
/// by `angle_degrees` about `centre` first (0: no rotation), borders replicated; returns a
/// CV_8UC1 `size` x `size` image; `transform` (optional) receives the CV_64F 2 x 3 map from
/// input to output pixels.
cv::Mat cropFace(const cv::Mat& grey, const cv::Rect& face, double margin, int size,
                 double angle_degrees = 0.0, cv::Point2f centre = {}, cv::Mat* transform = nullptr);

/// Aligns every image of `dataset` in place (pixels stay image_size x image_size) with
/// `threads` workers (0 = hardware concurrency), each with its own FaceAligner, and returns
/// the outcome counts. Deterministic: images are independent. Throws DataError (cascades).
AlignmentCounts alignDataset(Dataset& dataset, const config::DataConfig& config, int threads = 0);

}  // namespace ferlab::data
