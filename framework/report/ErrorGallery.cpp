// Section 8 "Errors gallery": the best run's most confident PrivateTest mistakes, each with
// its original image (read from the run's data.path, inlined as a PNG data URI), true and
// predicted class and confidence. Missing images are reported in the page, not thrown.

#include "framework/report/ReportSections.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/core/ResourcePaths.h"
#include "framework/data/Fer2013Reader.h"

namespace ferlab::report::sections {
namespace {

namespace fs = std::filesystem;

std::string base64Png(const cv::Mat& image) {
  std::vector<unsigned char> png;
  if (!cv::imencode(".png", image, png)) return "";
  return base64Encode(std::string(png.begin(), png.end()));
}

// The run's images: data.path and data.image_size of its resolved config.
struct RunData {
  fs::path path;
  int image_size = 0;
};

// Where the run's data lives: data.path of its resolved config (config/ConfigLoader.h; keys
// a record lacks take their defaults), relative to the working directory like `ferlab run`
// reads it, else to the root beside the executable (core/ResourcePaths.h: the checkout, for
// reports made from another folder). nullopt when the stored config cannot be read.
std::optional<RunData> runDataOf(const tracking::RunRecord& record) {
  config::RunConfig config;
  try {
    config = config::runConfigFromResolvedJson(record.config_json, "run " + record.id);
  } catch (const ConfigError&) {
    return std::nullopt;  // shown as n/a, its images as not found
  }
  const fs::path path = config.data.path;
  std::error_code error;
  if (fs::exists(path, error) || path.is_absolute()) return RunData{path, config.data.image_size};
  const std::optional<std::string> root = core::resourceRoot();
  const fs::path in_root = root ? fs::path(*root) / path : fs::path();
  if (root && fs::exists(in_root, error)) return RunData{in_root, config.data.image_size};
  return RunData{path, config.data.image_size};
}

// sample_id is Fer2013Reader's: the image's '/'-separated path under the data folder, or
// "<file>.csv:<line>" for the challenge CSV (read by data::readChallengeCsvLines). Images
// that cannot be read are left out (the page reports them as not found); why, for the CSV,
// is logged as a warning.
std::map<std::string, cv::Mat> loadImages(const RunData& source,
                                          const std::vector<std::string>& ids) {
  std::map<std::string, cv::Mat> images;
  std::map<std::size_t, std::string> csv_lines;  // line -> sample id
  for (const std::string& id : ids) {
    const std::size_t colon = id.rfind(':');
    const bool csv_id = colon != std::string::npos && id.size() > colon + 1 &&
                        std::all_of(id.begin() + colon + 1, id.end(), [](char c) {
                          return std::isdigit(static_cast<unsigned char>(c));
                        });
    if (csv_id) {
      csv_lines[std::stoul(id.substr(colon + 1))] = id;
      continue;
    }
    const fs::path file = source.path / id;
    std::error_code error;
    if (!fs::is_regular_file(file, error)) continue;  // reported in the page as missing
    const cv::Mat image = cv::imread(file.string(), cv::IMREAD_GRAYSCALE);
    if (!image.empty()) images[id] = image;
  }
  std::error_code error;
  if (csv_lines.empty() || fs::is_directory(source.path, error)) return images;
  std::vector<std::size_t> lines;
  for (const auto& [line, id] : csv_lines) lines.push_back(line);
  data::Dataset rows;
  try {
    rows = data::readChallengeCsvLines(source.path.string(), lines, source.image_size);
  } catch (const DataError& failure) {
    log::warn("errors gallery: {}", failure.what());
    return images;
  }
  const int side = rows.image_size;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string& id = rows.sample_ids[i];  // "<file>.csv:<line>"
    const std::size_t line = std::stoul(id.substr(id.rfind(':') + 1));
    std::uint8_t* pixels = rows.pixels.data() + i * static_cast<std::size_t>(side) * side;
    images[csv_lines.at(line)] = cv::Mat(side, side, CV_8UC1, pixels).clone();
  }
  return images;
}

}  // namespace

std::string renderErrors(const Context& context) {
  std::string html = openSection("errors");
  if (context.best < 0 || context.runs[context.best].test.empty()) {
    return html + "<p>n/a: the best run has no stored PrivateTest predictions.</p>\n</section>\n";
  }
  const ReportRun& best = context.runs[context.best];
  std::vector<const Prediction*> mistakes;
  for (const Prediction& p : best.test) {
    if (p.predicted != p.label) mistakes.push_back(&p);
  }
  const auto confidence = [](const Prediction* p) {
    const auto index = static_cast<std::size_t>(p->predicted);
    return index < p->probabilities.size() ? static_cast<double>(p->probabilities[index]) : -1.0;
  };
  std::stable_sort(mistakes.begin(), mistakes.end(), [&](const Prediction* a, const Prediction* b) {
    return confidence(a) > confidence(b);
  });
  mistakes.resize(std::min(mistakes.size(),
                           static_cast<std::size_t>(std::max(0, context.options->gallery_size))));
  if (mistakes.empty()) return html + "<p>The best run made no test mistakes.</p>\n</section>\n";
  const std::optional<RunData> source = runDataOf(best.data_record);
  std::vector<std::string> ids;
  for (const Prediction* p : mistakes) ids.push_back(p->sample_id);
  const std::map<std::string, cv::Mat> images =
      source ? loadImages(*source, ids) : std::map<std::string, cv::Mat>{};
  const auto className = [&](std::int64_t index) {
    return index >= 0 && static_cast<std::size_t>(index) < context.class_names.size()
               ? context.class_names[index]
               : std::to_string(index);
  };
  int missing = 0;
  html += fmt::format(
      "<p class=\"hint\">The {} most confident PrivateTest mistakes of the best run <strong>{}"
      "</strong>, most confident first: the original image (before any alignment or "
      "augmentation), true and predicted class, and the softmax probability of the predicted "
      "class. Images read from <code>{}</code>.</p>\n<div class=\"gallery\">\n",
      mistakes.size(), escapeHtml(best.label),
      escapeHtml(source ? source->path.string() : std::string(kMissing)));
  for (const Prediction* p : mistakes) {
    const auto found = images.find(p->sample_id);
    const std::string encoded = found == images.end() ? "" : base64Png(found->second);
    std::string picture;
    if (encoded.empty()) {
      ++missing;
      picture = "<div class=\"noimage\">image not found</div>";
    } else {
      picture = "<img alt=\"" + escapeHtml(p->sample_id) + "\" src=\"data:image/png;base64," +
                encoded + "\">";
    }
    const double c = confidence(p);
    html += fmt::format(
        "<figure title=\"{}\">{}<figcaption>true <b>{}</b><br>predicted <b>{}</b><br>{}"
        "</figcaption></figure>\n",
        escapeHtml(p->sample_id), picture, escapeHtml(className(p->label)),
        escapeHtml(className(p->predicted)),
        c >= 0 ? fmt::format("confidence {:.1f}%", 100 * c) : std::string("confidence n/a"));
  }
  html += "</div>\n";
  if (missing > 0) {
    html += fmt::format(
        "<p class=\"warning\">{} of {} images were not found under the run's data.path; "
        "each is shown as an empty box.</p>\n",
        missing, mistakes.size());
  }
  return html + "</section>\n";
}

}  // namespace ferlab::report::sections
