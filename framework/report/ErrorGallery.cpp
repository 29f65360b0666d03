// Section 8 "Errors gallery": the best run's most confident PrivateTest mistakes, each with
// its original image (read from the run's data.path, inlined as a PNG data URI), true and
// predicted class and confidence. Missing images are reported in the page, not thrown.

#include "framework/report/ReportSections.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace ferlab::report::sections {
namespace {

namespace fs = std::filesystem;

std::string base64Png(const cv::Mat& image) {
  std::vector<unsigned char> png;
  if (!cv::imencode(".png", image, png)) return "";
  return base64Encode(std::string(png.begin(), png.end()));
}

// Where the run's data lives: data.path of its resolved config, relative to the working
// directory like `ferlab run` reads it, else to the source tree (reports made elsewhere).
std::optional<fs::path> dataPathOf(const tracking::RunRecord& record, std::string* format) {
  const Json config = Json::parse(record.config_json, nullptr, false);
  if (config.is_discarded() || !config.contains("data") || !config["data"].is_object()) {
    return std::nullopt;
  }
  const Json& data = config["data"];
  if (!data.contains("path") || !data["path"].is_string()) return std::nullopt;
  *format = data.contains("format") && data["format"].is_string()
                ? data["format"].get<std::string>()
                : "";
  const fs::path path = data["path"].get<std::string>();
  std::error_code error;
  if (fs::exists(path, error) || path.is_absolute()) return path;
  const fs::path in_source = fs::path(FERLAB_SOURCE_DIR) / path;
  if (fs::exists(in_source, error)) return in_source;
  return path;
}

// sample_id is Fer2013Reader's: the image's '/'-separated path under the data folder, or
// "<file>.csv:<line>" for the challenge CSV (line 1 = header, 2304 grey values row-major).
std::map<std::string, cv::Mat> loadImages(const fs::path& data_path,
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
    const fs::path file = data_path / id;
    std::error_code error;
    if (!fs::is_regular_file(file, error)) continue;  // reported in the page as missing
    const cv::Mat image = cv::imread(file.string(), cv::IMREAD_GRAYSCALE);
    if (!image.empty()) images[id] = image;
  }
  if (csv_lines.empty()) return images;
  std::error_code error;
  const fs::path csv = fs::is_directory(data_path, error) ? fs::path() : data_path;
  std::ifstream in(csv);
  std::string line;
  for (std::size_t number = 1; in && std::getline(in, line) && number <= csv_lines.rbegin()->first;
       ++number) {
    const auto wanted = csv_lines.find(number);
    if (wanted == csv_lines.end()) continue;
    // The pixels are the one field of 2304 space-separated numbers.
    std::stringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) {
      field.erase(std::remove(field.begin(), field.end(), '"'), field.end());
      if (std::count(field.begin(), field.end(), ' ') < 100) continue;
      std::istringstream values(field);
      std::vector<unsigned char> pixels;
      int value = 0;
      while (values >> value) pixels.push_back(static_cast<unsigned char>(value));
      const int side = static_cast<int>(std::lround(std::sqrt(pixels.size())));
      if (side * side != static_cast<int>(pixels.size())) break;
      images[wanted->second] = cv::Mat(side, side, CV_8UC1, pixels.data()).clone();
      break;
    }
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
  std::string format;
  const std::optional<fs::path> data_path = dataPathOf(best.row.record, &format);
  std::vector<std::string> ids;
  for (const Prediction* p : mistakes) ids.push_back(p->sample_id);
  const std::map<std::string, cv::Mat> images =
      data_path ? loadImages(*data_path, ids) : std::map<std::string, cv::Mat>{};
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
      escapeHtml(data_path ? data_path->string() : std::string(kMissing)));
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
