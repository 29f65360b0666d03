// `ferlab predict --run RUN IMAGE...`: classifies the expression of every face in ordinary
// photographs with a trained run's selected checkpoint (best.pt). Each face is detected and
// prepared the way the run's training data was (data.align = "eyes": FaceAligner's eye
// alignment; "none": the face box with data.align_margin, resized), normalised with the
// training split's statistics and classified with the run's eval.tta (hflip, ten_crop), by
// train::TrainedModel.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>

#include <torch/torch.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/core/Errors.h"
#include "framework/data/FaceAligner.h"
#include "framework/tracking/SqliteStore.h"
#include "framework/train/TrainedModel.h"

namespace ferlab::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct FacePrediction {
  cv::Rect box;  ///< input pixels
  data::AlignOutcome outcome = data::AlignOutcome::FaceOnly;
  std::vector<float> probabilities;  ///< one per class, sum 1
  std::size_t top = 0;
};

struct ImagePrediction {
  std::string path;
  int width = 0, height = 0;
  std::vector<FacePrediction> faces;
};

ImagePrediction predictImage(const std::string& path, const data::FaceAligner& aligner,
                             const train::TrainedModel& predictor) {
  const cv::Mat colour = cv::imread(path, cv::IMREAD_COLOR);
  if (colour.empty()) throw DataError(fmt::format("{}: cannot read image", path));
  cv::Mat grey;
  cv::cvtColor(colour, grey, cv::COLOR_BGR2GRAY);
  ImagePrediction image{path, colour.cols, colour.rows, {}};
  const auto& data = predictor.config().data;
  const data::AlignOptions options = data::alignOptionsFrom(data);
  // The faces' prepared pixels one after another: F x S x S bytes.
  std::vector<std::uint8_t> faces;
  for (const cv::Rect& box : aligner.detectFaces(grey)) {
    const auto aligned = aligner.alignFace(grey, box, options, data.align == config::Align::Eyes);
    const cv::Mat pixels =
        aligned.aligned.isContinuous() ? aligned.aligned : aligned.aligned.clone();
    faces.insert(faces.end(), pixels.data, pixels.data + pixels.total());
    FacePrediction face;
    face.box = box;
    face.outcome = aligned.outcome;
    image.faces.push_back(face);
  }
  if (image.faces.empty()) return image;
  const torch::Tensor probabilities =
      predictor.classify(faces.data(), static_cast<std::int64_t>(image.faces.size()));
  for (std::size_t i = 0; i < image.faces.size(); ++i) {
    auto& face = image.faces[i];
    const float* row = probabilities[static_cast<long>(i)].data_ptr<float>();
    face.probabilities.assign(row, row + probabilities.size(1));
    face.top = static_cast<std::size_t>(
        std::max_element(face.probabilities.begin(), face.probabilities.end()) -
        face.probabilities.begin());
  }
  return image;
}

void printText(const ImagePrediction& image, const std::vector<std::string>& names) {
  if (image.faces.empty()) {
    fmt::print("{}: no face found\n", image.path);
    return;
  }
  fmt::print("{}: {} face{}\n", image.path, image.faces.size(), image.faces.size() == 1 ? "" : "s");
  for (std::size_t i = 0; i < image.faces.size(); ++i) {
    const auto& face = image.faces[i];
    fmt::print("  face {} at x={} y={} {}x{} ({}): {} {:.1f}%\n   ", i + 1, face.box.x, face.box.y,
               face.box.width, face.box.height, data::alignOutcomeName(face.outcome),
               names[face.top], 100.0 * face.probabilities[face.top]);
    for (std::size_t c = 0; c < names.size(); ++c)
      fmt::print(" {} {:.3f}", names[c], face.probabilities[c]);
    fmt::print("\n");
  }
}

json toJson(const ImagePrediction& image, const std::vector<std::string>& names) {
  json faces = json::array();
  for (const auto& face : image.faces) {
    json probabilities = json::object();
    for (std::size_t c = 0; c < names.size(); ++c) probabilities[names[c]] = face.probabilities[c];
    faces.push_back({{"box",
                      {{"x", face.box.x},
                       {"y", face.box.y},
                       {"width", face.box.width},
                       {"height", face.box.height}}},
                     {"alignment", data::alignOutcomeName(face.outcome)},
                     {"label", names[face.top]},
                     {"probabilities", probabilities}});
  }
  return {{"path", image.path}, {"width", image.width}, {"height", image.height}, {"faces", faces}};
}

void annotate(const ImagePrediction& image, const std::vector<std::string>& names,
              const std::string& out) {
  cv::Mat canvas = cv::imread(image.path, cv::IMREAD_COLOR);
  const int thickness = std::max(1, std::min(canvas.cols, canvas.rows) / 300);
  for (const auto& face : image.faces) {
    const cv::Scalar green(0, 200, 0);
    cv::rectangle(canvas, face.box, green, thickness);
    const std::string label =
        fmt::format("{} {:.0f}%", names[face.top], 100.0 * face.probabilities[face.top]);
    const double scale = std::max(0.4, face.box.width / 150.0);
    int baseline = 0;
    const cv::Size size = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline);
    const cv::Point origin(face.box.x, std::max(size.height + 2, face.box.y - 4));
    cv::rectangle(canvas, origin + cv::Point(0, baseline),
                  origin + cv::Point(size.width, -size.height - 2), green, cv::FILLED);
    cv::putText(canvas, label, origin, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), 1,
                cv::LINE_AA);
  }
  bool written = false;
  try {
    written = cv::imwrite(out, canvas);
  } catch (const cv::Exception& error) {
    throw DataError(fmt::format("{}: cannot write annotated image: {}", out, error.what()));
  }
  if (!written) throw DataError(fmt::format("{}: cannot write annotated image", out));
}

/// Where --annotate writes `image`: OUT itself for one image (unless OUT is a folder), else
/// OUT/<file name> (OUT is created).
std::string annotationPath(const std::string& out, const std::string& image, bool several) {
  if (!several && !fs::is_directory(out)) return out;
  std::error_code error;
  fs::create_directories(out, error);
  if (error) throw DataError(fmt::format("{}: cannot create folder: {}", out, error.message()));
  return (fs::path(out) / fs::path(image).filename()).string();
}

}  // namespace

int predictCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::string db_path, run_id, annotate_out, device, results_dir;
  std::vector<std::string> images;
  // clang-format off
  options.add_options()
      ("run", po::value(&run_id)->required(), "run id (or a unique prefix)")
      ("image", po::value(&images)->required(), "image files (JPEG, PNG, ...)")
      ("json", "print one JSON document instead of text")
      ("annotate", po::value(&annotate_out), "write images with boxes and labels: a file for "
                                             "one image, a folder for several")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)")
      ("results", po::value(&results_dir)->default_value("results"), "folder holding runs/<id>/")
      ("device", po::value(&device), "cpu (default), cuda, cuda:N");
  // clang-format on
  po::positional_options_description positional;
  positional.add("image", -1);
  po::variables_map values;
  if (!parseCommandLine(args, options, positional,
                        "usage: ferlab predict --run RUN IMAGE... [--json] [--annotate OUT] "
                        "[--db PATH] [--results DIR] [--device D]",
                        values))
    return 0;
  for (const std::string& image : images) {
    if (!fs::is_regular_file(image)) throw DataError(fmt::format("{}: no such image file", image));
  }

  const tracking::SqliteStore store(db_path, tracking::OpenMode::ReadOnly);
  const auto row = store.getRun(run_id);
  if (row.record.kind == tracking::RunKind::Ensemble) {
    throw UsageError(fmt::format(
        "run {} ({}) is an ensemble: it has no checkpoint of its own, only its members' stored "
        "predictions averaged; predict with one of its members (ferlab show {})",
        row.record.id, row.record.name, row.record.id));
  }
  const train::TrainedModel predictor(row, results_dir, device);
  const auto names =
      train::runClassNames(store, row.record.id, predictor.config().model.num_classes);
  const data::FaceAligner aligner(predictor.config().data.cascade_dir);

  json documents = json::array();
  for (const std::string& path : images) {
    const ImagePrediction image = predictImage(path, aligner, predictor);
    if (values.count("json")) {
      documents.push_back(toJson(image, names));
    } else {
      printText(image, names);
    }
    if (!annotate_out.empty())
      annotate(image, names, annotationPath(annotate_out, path, images.size() > 1));
  }
  if (values.count("json")) {
    const json out = {{"run", row.record.id},
                      {"name", row.record.name},
                      {"align", predictor.config().data.align},
                      {"classes", names},
                      {"images", documents}};
    std::cout << out.dump(2) << "\n";
  }
  return 0;
}

}  // namespace ferlab::cli
