// `ferlab augment-preview`: a PNG grid of real training images through exactly the training
// input pipeline of a config (train::trainingBatch: augmentation, normalisation, mixup /
// CutMix, Gaussian noise), denormalised for display. Row r shows one training image of class
// r mod k: the original in the first column, independent augmented draws in the others.

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/types.h>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/data/DatasetCache.h"
#include "framework/data/SealedTestSplit.h"
#include "framework/train/Augment.h"
#include "framework/train/DeviceDataset.h"

namespace ferlab::cli {
namespace {

constexpr int kCaptionHeight = 14;  // pixels of caption strip under each cell
constexpr int kMaxCells = 400;      // rows x cols; a larger grid is a typo, not a preview

// One training image per row, cycling through the classes present in training; within a
// class the image is drawn uniformly (global generator, seeded by the caller).
torch::Tensor pickRows(const train::DeviceDataset& data, int rows) {
  const auto& train_indices = data.indices(data::Split::Train);
  const auto train_labels = data.labels(train_indices);
  std::vector<torch::Tensor> by_class;
  for (int c = 0; c < data.numClasses(); ++c) {
    const auto members = train_indices.masked_select(train_labels == c);
    if (members.numel() > 0) by_class.push_back(members);
  }
  std::vector<std::int64_t> picked;
  for (int r = 0; r < rows; ++r) {
    const auto& members = by_class[static_cast<std::size_t>(r) % by_class.size()];
    const auto at = torch::randint(members.size(0), {1}, torch::kInt64).item<std::int64_t>();
    picked.push_back(members[at].item<std::int64_t>());
  }
  return torch::tensor(picked, torch::kInt64);
}

// float32 normalised [B, 1, S, S] -> uint8 grey levels, the inverse of DeviceDataset::normalize.
torch::Tensor denormalise(const train::DeviceDataset& data, const torch::Tensor& inputs) {
  return (inputs * data.std() + data.mean()).mul(255.0).round().clamp(0, 255).to(torch::kUInt8);
}

std::string mixCaption(const train::BatchMix& mix, std::int64_t row,
                       const std::vector<std::string>& class_names, const torch::Tensor& labels) {
  if (!mix.mixed()) return "";
  const auto partner = mix.permutation[row].item<std::int64_t>();
  return fmt::format("{} {:.2f}+{}", mix.kind == train::MixKind::Mixup ? "mix" : "cut", mix.lambda,
                     class_names[static_cast<std::size_t>(labels[partner].item<std::int64_t>())]);
}

void drawCell(cv::Mat& canvas, const torch::Tensor& image_u8, int row, int col, int cell,
              const std::string& caption) {
  const auto pixels = image_u8.contiguous();
  const int side = static_cast<int>(pixels.size(-1));
  const cv::Mat grey(side, side, CV_8UC1, pixels.data_ptr<std::uint8_t>());
  cv::Mat scaled, colour;
  cv::resize(grey, scaled, cv::Size(cell, cell), 0, 0, cv::INTER_NEAREST);  // pixel-exact
  cv::cvtColor(scaled, colour, cv::COLOR_GRAY2BGR);
  const int top = row * (cell + kCaptionHeight), left = col * cell;
  colour.copyTo(canvas(cv::Rect(left, top, cell, cell)));
  cv::putText(canvas, caption, cv::Point(left + 2, top + cell + kCaptionHeight - 4),
              cv::FONT_HERSHEY_SIMPLEX, 0.33, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
}

}  // namespace

int augmentPreviewCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::string config_path, output;
  std::vector<std::string> overrides;
  int rows = 7, cols = 8, run_index = 0, scale = 2;
  std::int64_t seed = -1;
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("config", po::value(&config_path)->required(), "experiment TOML file")
      ("output,o", po::value(&output)->required(), "PNG file to write")
      ("set", po::value(&overrides)->composing(), "override a config key: --set augment.mixup=0.5 (repeatable)")
      ("run-index", po::value(&run_index)->default_value(0), "which run of the grid (from 0)")
      ("rows", po::value(&rows)->default_value(7), "images (one per row, cycling through the classes)")
      ("cols", po::value(&cols)->default_value(8), "columns: the original plus cols - 1 augmented draws")
      ("scale", po::value(&scale)->default_value(2), "display pixels per image pixel")
      ("seed", po::value(&seed), "generator seed (default: the run's train.seed)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map values;
  if (!parseCommandLine(
          args, options, positional,
          "usage: ferlab augment-preview CONFIG -o FILE.png [--set key=value]... [--rows R] "
          "[--cols C] [--seed S] [--run-index N]",
          values)) {
    return 0;
  }
  if (rows < 1 || cols < 2 || rows * cols > kMaxCells) {
    throw UsageError(
        fmt::format("--rows {} --cols {}: need rows >= 1, cols >= 2, rows x cols <= {}", rows, cols,
                    kMaxCells));
  }
  if (scale < 1 || scale > 16) throw UsageError(fmt::format("--scale {}: need 1 to 16", scale));
  // Check the output before the (seconds-long) data loading.
  auto extension = std::filesystem::path(output).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension != ".png")
    throw UsageError(fmt::format("{}: the output must be a .png file", output));
  const auto folder = std::filesystem::path(output).parent_path();
  if (!folder.empty() && !std::filesystem::is_directory(folder)) {
    throw DataError(
        fmt::format("{}: cannot write the preview: no folder {}", output, folder.string()));
  }
  const auto experiment = config::loadExperiment(config_path, overrides);
  if (run_index < 0 || run_index >= static_cast<int>(experiment.runs.size())) {
    throw UsageError(fmt::format("--run-index {}: {} has {} run(s)", run_index, config_path,
                                 experiment.runs.size()));
  }
  const auto& config = experiment.runs[static_cast<std::size_t>(run_index)].config;
  // Augmentation previews show training images: PrivateTest stays sealed.
  const data::Dataset dataset = data::sealTestSplit(data::loadDataset(config.data)).selection;
  const train::DeviceDataset data(dataset, torch::kCPU);

  torch::manual_seed(static_cast<std::uint64_t>(seed >= 0 ? seed : config.train.seed));
  const auto picked = pickRows(data, rows);
  const auto labels = data.labels(picked);
  const int cell = dataset.image_size * scale;
  cv::Mat canvas(rows * (cell + kCaptionHeight), cols * cell, CV_8UC3, cv::Scalar(255, 255, 255));
  const auto originals = data.images(picked);
  for (int r = 0; r < rows; ++r) {
    const auto label = static_cast<std::size_t>(labels[r].item<std::int64_t>());
    drawCell(canvas, originals[r][0], r, 0, cell, dataset.class_names[label]);
  }
  for (int c = 1; c < cols; ++c) {
    // Each column is one training batch of the picked images, so mixing pairs them.
    const auto batch = train::trainingBatch(data, picked, config.augment);
    const auto shown = denormalise(data, batch.inputs);
    for (int r = 0; r < rows; ++r) {
      drawCell(canvas, shown[r][0], r, c, cell,
               mixCaption(batch.mix, r, dataset.class_names, labels));
    }
  }

  bool written = false;
  try {
    written = cv::imwrite(output, canvas);
  } catch (const cv::Exception& error) {
    throw DataError(fmt::format("{}: cannot write the preview: {}", output, error.err));
  }
  if (!written) throw DataError(fmt::format("{}: cannot write the preview", output));
  log::info("wrote {}: {} image(s) x {} column(s), {} x {} pixels, run {} of {}", output, rows,
            cols, canvas.cols, canvas.rows, run_index, config_path);
  return 0;
}

}  // namespace ferlab::cli
