#include "framework/data/FaceAligner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "framework/core/Errors.h"
#include "framework/core/Hash.h"
#include "framework/core/Log.h"
#include "framework/core/Progress.h"
#include "framework/core/Stopwatch.h"

namespace ferlab::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultCascadeDir = "/usr/share/opencv4/haarcascades";
constexpr double kPi = 3.14159265358979323846;
constexpr int kEyeFaceSide = 200;  // pixels: faces are searched for eyes at least this large

std::string missingCascadeMessage(const std::string& path) {
  return fmt::format(
      "{}: cascade file not found (data.cascade_dir; install Debian's opencv-data, e.g. with "
      "scripts/setup.sh)",
      path);
}

void loadCascade(cv::CascadeClassifier& cascade, const std::string& dir, const char* file) {
  const std::string path = (fs::path(dir) / file).string();
  if (!fs::exists(path)) {
    throw DataError(missingCascadeMessage(path));
  }
  if (!cascade.load(path)) {
    throw DataError(fmt::format("{}: not a readable OpenCV cascade (data.cascade_dir)", path));
  }
}

bool largerArea(const cv::Rect& a, const cv::Rect& b) {
  if (a.area() != b.area()) return a.area() > b.area();
  // Ties broken by position, so the order never depends on the detector's output order.
  return a.y != b.y ? a.y < b.y : a.x < b.x;
}

cv::Point2f centreOf(const cv::Rect& box) {
  return {static_cast<float>(box.x) + box.width / 2.0f,
          static_cast<float>(box.y) + box.height / 2.0f};
}

void checkGrey(const cv::Mat& grey) {
  if (grey.empty() || grey.type() != CV_8UC1) {
    throw DataError(
        fmt::format("face alignment needs a non-empty 8-bit grey image, got {}x{} "
                    "of type {}",
                    grey.cols, grey.rows, grey.type()));
  }
}

}  // namespace

std::string resolveCascadeDir(const std::string& cascade_dir) {
  return cascade_dir.empty() ? kDefaultCascadeDir : cascade_dir;
}

std::string cascadeFingerprint(const std::string& cascade_dir) {
  const std::string dir = resolveCascadeDir(cascade_dir);
  std::string fingerprint;
  for (const char* file : {kFaceCascadeFile, kEyeCascadeFile}) {
    const std::string path = (fs::path(dir) / file).string();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError(missingCascadeMessage(path));
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!fingerprint.empty()) fingerprint += ' ';
    fingerprint += fmt::format("{}={}", file, core::hashHex(bytes));
  }
  return fingerprint;
}

AlignOptions alignOptionsFrom(const config::DataConfig& config) {
  AlignOptions options;
  options.image_size = config.image_size;
  options.margin = config.align_margin;
  options.upsample = std::max(1, config.align_upsample);
  return options;
}

const char* alignOutcomeName(AlignOutcome outcome) {
  switch (outcome) {
    case AlignOutcome::Aligned:
      return "aligned";
    case AlignOutcome::FaceOnly:
      return "face_only";
    case AlignOutcome::None:
      return "none";
  }
  return "unknown";
}

FaceAligner::FaceAligner(const std::string& cascade_dir) {
  const std::string dir = resolveCascadeDir(cascade_dir);
  loadCascade(face_cascade_, dir, kFaceCascadeFile);
  loadCascade(eye_cascade_, dir, kEyeCascadeFile);
}

std::vector<cv::Rect> FaceAligner::detectFaces(const cv::Mat& grey, int min_side,
                                               int min_neighbors) const {
  checkGrey(grey);
  std::vector<cv::Rect> faces;
  // scaleFactor 1.1 / minNeighbors 5 (photos): OpenCV's usual values; fewer neighbours let
  // hair and collars through on photographs.
  face_cascade_.detectMultiScale(grey, faces, 1.1, min_neighbors, 0, cv::Size(min_side, min_side));
  std::sort(faces.begin(), faces.end(), largerArea);
  return faces;
}

EyePair FaceAligner::detectEyes(const cv::Mat& grey, const cv::Rect& face) const {
  EyePair pair;
  // Upper half of the face box: eyes sit at about 40% of its height, and the mouth and
  // nostrils below would otherwise pass for eyes.
  const cv::Rect upper =
      cv::Rect(face.x, face.y, face.width, face.height / 2) & cv::Rect(0, 0, grey.cols, grey.rows);
  if (upper.width < 8 || upper.height < 4) return pair;
  // The eye cascade's 20 x 20 window needs eyes of a few dozen pixels: a small face (a
  // distant one in a photo) is zoomed to kEyeFaceSide first.
  const double zoom =
      face.width < kEyeFaceSide ? static_cast<double>(kEyeFaceSide) / face.width : 1.0;
  cv::Mat region = grey(upper);
  if (zoom > 1.0) cv::resize(region, region, cv::Size(), zoom, zoom, cv::INTER_CUBIC);
  const int face_side = cvRound(face.width * zoom);
  std::vector<cv::Rect> eyes;
  // Eyes span 15-25% of a Haar face box: search 1/7 to 1/3 of it (fewer scales, fewer
  // false eyes).
  const int min_eye = std::max(8, face_side / 9);
  const int max_eye = face_side / 3;
  // minNeighbors 2: measured on 350 FER2013 crops, 3 finds an eye pair in 144 and 2 in 163;
  // the angle limit (max_eye_angle) rejects most of what the looser setting adds wrongly.
  eye_cascade_.detectMultiScale(region, eyes, 1.1, 2, 0, cv::Size(min_eye, min_eye),
                                cv::Size(max_eye, max_eye));
  std::sort(eyes.begin(), eyes.end(), largerArea);
  const float centre_x = static_cast<float>(face_side) / 2.0f;
  const cv::Rect* left = nullptr;
  const cv::Rect* right = nullptr;
  // Eye centres lie below the top fifth of a Haar face box; higher ones are hair or brows.
  const float min_y = 0.2f * static_cast<float>(face_side);
  for (const cv::Rect& eye : eyes) {  // largest first: the largest on each side wins
    const float x = centreOf(eye).x;
    if (centreOf(eye).y < min_y) continue;
    if (x < centre_x && left == nullptr) left = &eye;
    if (x >= centre_x && right == nullptr) right = &eye;
  }
  if (left == nullptr || right == nullptr) return pair;
  const cv::Point2f offset(static_cast<float>(upper.x), static_cast<float>(upper.y));
  const auto unzoom = static_cast<float>(1.0 / zoom);
  pair.left = centreOf(*left) * unzoom + offset;
  pair.right = centreOf(*right) * unzoom + offset;
  pair.angle = std::atan2(pair.right.y - pair.left.y, pair.right.x - pair.left.x) * 180.0 / kPi;
  pair.found = true;
  return pair;
}

cv::Mat cropFace(const cv::Mat& grey, const cv::Rect& face, double margin, int size,
                 double angle_degrees, cv::Point2f centre, cv::Mat* transform_out) {
  // One affine map: rotate about `centre`, then move the grown box's corner to the origin
  // and scale its side to `size`.
  const double side = std::max(face.width, face.height) * (1.0 + 2.0 * margin);
  const cv::Point2f box_centre = centreOf(face);
  const double x0 = box_centre.x - side / 2.0, y0 = box_centre.y - side / 2.0;
  const double scale = size / side;
  cv::Mat rotation = cv::getRotationMatrix2D(centre, angle_degrees, 1.0);  // CV_64F 2x3
  cv::Mat transform(2, 3, CV_64F);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) transform.at<double>(r, c) = rotation.at<double>(r, c) * scale;
  }
  transform.at<double>(0, 2) -= x0 * scale;
  transform.at<double>(1, 2) -= y0 * scale;
  cv::Mat out;
  if (scale < 0.5) {
    // Shrinking a 200-pixel face to 48 by bilinear sampling would alias: warp at the
    // source's resolution, then average pixel areas down (INTER_AREA).
    const int inner = cvRound(side);
    cv::Mat full_map = transform * (inner / static_cast<double>(size));
    cv::Mat full;
    cv::warpAffine(grey, full, full_map, cv::Size(inner, inner), cv::INTER_LINEAR,
                   cv::BORDER_REPLICATE);
    cv::resize(full, out, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  } else {
    cv::warpAffine(grey, out, transform, cv::Size(size, size), cv::INTER_LINEAR,
                   cv::BORDER_REPLICATE);
  }
  if (transform_out != nullptr) *transform_out = transform;
  return out;
}

AlignResult FaceAligner::alignFace(const cv::Mat& grey, const cv::Rect& face,
                                   const AlignOptions& options, bool use_eyes) const {
  checkGrey(grey);
  AlignResult result;
  result.face = face;
  result.outcome = AlignOutcome::FaceOnly;
  const EyePair eyes = use_eyes ? detectEyes(grey, face) : EyePair{};
  if (eyes.found && std::abs(eyes.angle) <= options.max_eye_angle) {
    result.outcome = AlignOutcome::Aligned;
    result.left_eye = eyes.left;
    result.right_eye = eyes.right;
    result.eye_angle = eyes.angle;
    // getRotationMatrix2D turns counter-clockwise for positive angles (y down), which
    // levels an eye line that descends to the right by `angle`.
    result.aligned = cropFace(grey, face, options.margin, options.image_size, eyes.angle,
                              (eyes.left + eyes.right) * 0.5f, &result.transform);
  } else {
    result.aligned =
        cropFace(grey, face, options.margin, options.image_size, 0.0, {}, &result.transform);
  }
  return result;
}

AlignResult FaceAligner::align(const cv::Mat& grey, const AlignOptions& options) const {
  checkGrey(grey);
  const bool small = std::max(grey.cols, grey.rows) < options.small_side;
  const double factor = small ? std::max(1, options.upsample) : 1.0;
  cv::Mat work = grey;
  int border = 0;
  if (small) {
    if (factor > 1.0) cv::resize(grey, work, cv::Size(), factor, factor, cv::INTER_CUBIC);
    // A crop's face touches its edges, where the detector's window does not fit; replicated
    // borders make room (measured on 350 FER2013 crops: 200 faces found without, 282 with).
    border = cvRound(options.crop_border * std::max(work.cols, work.rows));
    cv::copyMakeBorder(work, work, border, border, border, border, cv::BORDER_REPLICATE);
  }
  // A crop's face fills most of it: search from half its side, not from 24 px (faster, and
  // no small false faces in the hair).
  const int min_side =
      small ? std::max(24, cvRound(0.5 * factor * std::min(grey.cols, grey.rows))) : 24;
  // Fewer neighbours on crops: exactly one face is expected there, and 3 finds more of them.
  const std::vector<cv::Rect> faces = detectFaces(work, min_side, small ? 3 : 5);
  AlignResult result;
  if (faces.empty()) {
    cv::resize(grey, result.aligned, cv::Size(options.image_size, options.image_size), 0, 0,
               cv::INTER_AREA);
    result.outcome = AlignOutcome::None;
    return result;
  }
  result = alignFace(work, faces.front(), options);
  // Report geometry in input pixels.
  const auto shift = static_cast<float>(border);
  const auto down = [factor, shift](cv::Point2f p) {
    return (p - cv::Point2f(shift, shift)) * static_cast<float>(1.0 / factor);
  };
  result.left_eye = down(result.left_eye);
  result.right_eye = down(result.right_eye);
  // work = input * factor + border, so input -> aligned is the work map scaled by `factor`
  // with the border folded into its offset.
  cv::Mat& map = result.transform;
  for (int r = 0; r < 2; ++r) {
    map.at<double>(r, 2) += border * (map.at<double>(r, 0) + map.at<double>(r, 1));
    map.at<double>(r, 0) *= factor;
    map.at<double>(r, 1) *= factor;
  }
  const cv::Rect& box = result.face;
  result.face = cv::Rect(cvRound((box.x - border) / factor), cvRound((box.y - border) / factor),
                         cvRound(box.width / factor), cvRound(box.height / factor));
  return result;
}

AlignmentCounts alignDataset(Dataset& dataset, const config::DataConfig& config, int threads) {
  const core::Stopwatch stopwatch;
  const AlignOptions options = alignOptionsFrom(config);
  const int side = dataset.image_size;
  const std::size_t count = dataset.size();
  const std::size_t pixels = static_cast<std::size_t>(side) * side;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<std::size_t>(threads, std::max<std::size_t>(count, 1)));

  // Loaded once up front so a missing cascade fails before any thread starts.
  { const FaceAligner check(config.cascade_dir); }
  std::vector<std::uint8_t> outcomes(count);
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex error_mutex;
  std::string error;
  const auto work = [&]() {
    try {
      const FaceAligner aligner(config.cascade_dir);
      for (std::size_t i = next++; i < count; i = next++) {
        cv::Mat image(side, side, CV_8UC1, dataset.pixels.data() + i * pixels);
        const AlignResult result = aligner.align(image, options);
        result.aligned.copyTo(image);  // same size: writes into dataset.pixels
        outcomes[i] = static_cast<std::uint8_t>(result.outcome);
        ++done;
      }
    } catch (const std::exception& e) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      error = e.what();
      next = count;
    }
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) workers.emplace_back(work);
  {
    // The calling thread works too and draws the progress line between images.
    core::ProgressLine progress;
    std::thread reporter;
    std::atomic<bool> finished{false};
    reporter = std::thread([&] {
      while (!finished) {
        progress.update(fmt::format("aligning faces {}/{}", done.load(), count));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
    work();
    for (auto& worker : workers) worker.join();
    finished = true;
    reporter.join();
    progress.finish(fmt::format("aligned faces in {}/{} images ({:.1f} s)", done.load(), count,
                                stopwatch.seconds()));
  }
  if (!error.empty()) throw DataError(error);

  AlignmentCounts counts{0, 0, 0};
  for (const std::uint8_t outcome : outcomes) {
    switch (static_cast<AlignOutcome>(outcome)) {
      case AlignOutcome::Aligned:
        ++counts.aligned;
        break;
      case AlignOutcome::FaceOnly:
        ++counts.face_only;
        break;
      case AlignOutcome::None:
        ++counts.none;
        break;
    }
  }
  dataset.alignment = counts;
  return counts;
}

}  // namespace ferlab::data
