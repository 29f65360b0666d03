#include "framework/data/CrossDataset.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <opencv2/core.hpp>

#include "framework/core/Errors.h"
#include "framework/core/FileBytes.h"
#include "framework/core/Hash.h"
#include "framework/core/Log.h"
#include "framework/core/Progress.h"
#include "framework/core/Stopwatch.h"
#include "framework/data/FaceAligner.h"
#include "framework/data/Fer2013Reader.h"
#include "framework/data/ImagePreparer.h"
#include "framework/data/LabelledImageFolder.h"

namespace ferlab::data {
namespace {

namespace fs = std::filesystem;

// Images read (and held encoded in memory) before one parallel preparation pass: bounds the
// memory a dataset of large photographs needs.
constexpr std::size_t kChunk = 256;

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

void hashBlob(core::Hasher& hasher, std::string_view blob) {
  // Length first, so ("ab", "c") and ("a", "bc") hash differently.
  hasher.update(static_cast<std::uint64_t>(blob.size()));
  hasher.update(blob);
}

// The subfolder of `root` named `name` in any letter case; empty when there is none.
fs::path findSubfolder(const fs::path& root, const std::string& name) {
  std::error_code error;
  for (fs::directory_iterator it(root, error), end; !error && it != end; it.increment(error)) {
    std::error_code type_error;
    if (it->is_directory(type_error) && lower(it->path().filename().string()) == name)
      return it->path();
  }
  return {};
}

// FER2013's image-folder layout: test/ present, and no subfolder but train/ and test/.
bool looksLikeFer2013(const fs::path& root) {
  bool has_test = false;
  std::error_code error;
  for (fs::directory_iterator it(root, error), end; !error && it != end; it.increment(error)) {
    std::error_code type_error;
    const std::string name = lower(it->path().filename().string());
    if (!it->is_directory(type_error) || name.empty() || name.front() == '.') continue;
    if (name == "test") {
      has_test = true;
    } else if (name != "train") {
      return false;
    }
  }
  return has_test;
}

CrossDatasetFormat resolveFormat(const CrossDatasetOptions& options) {
  std::error_code error;
  const fs::file_status status = fs::status(options.path, error);
  if (!fs::exists(status)) throw DataError(fmt::format("{}: does not exist", options.path));
  const bool folder = fs::is_directory(status);
  const bool file = fs::is_regular_file(status);
  switch (options.format) {
    case CrossDatasetFormat::Auto:
      if (folder) {
        return looksLikeFer2013(options.path) ? CrossDatasetFormat::Fer2013
                                              : CrossDatasetFormat::Folder;
      }
      if (file && lower(fs::path(options.path).extension().string()) == ".csv")
        return CrossDatasetFormat::Csv;
      throw DataError(fmt::format(
          "{}: neither a folder nor a .csv file (set --format to read it anyway)", options.path));
    case CrossDatasetFormat::Folder:
    case CrossDatasetFormat::Fer2013:
      if (!folder) {
        throw UsageError(fmt::format("{}: not a folder (--format {})", options.path,
                                     crossDatasetFormatName(options.format)));
      }
      return options.format;
    case CrossDatasetFormat::Csv:
      if (!file) throw UsageError(fmt::format("{}: not a file (--format csv)", options.path));
      return options.format;
  }
  throw std::logic_error("resolveFormat: unhandled format");
}

std::string datasetName(const std::string& path, CrossDatasetFormat format) {
  fs::path normal = fs::absolute(path).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();  // "ckplus/" or "."
  return format == CrossDatasetFormat::Csv ? normal.stem().string() : normal.filename().string();
}

// resolveClassMap with the dataset's path in front of a DataError (an unknown class).
ClassMapping mapClasses(const std::string& path, const std::vector<std::string>& dataset_classes,
                        const std::vector<std::string>& model_classes,
                        const std::vector<ClassMapRule>& rules) {
  try {
    return resolveClassMap(dataset_classes, model_classes, rules);
  } catch (const DataError& error) {
    throw DataError(fmt::format("{}: {}", path, error.what()));
  }
}

// One image waiting to be prepared: encoded bytes (folders) or grey pixels (CSV rows).
struct PendingImage {
  std::size_t slot = 0;  // index in the output dataset
  std::string path;      // names the image in errors
  std::string bytes;     // the encoded file; empty when `grey` holds the pixels
  cv::Mat grey;
};

// Prepares chunks of images on several threads, each with its own ImagePreparer (FaceAligner
// is not thread-safe), into their slots of `out`. Images are independent and land in
// disjoint slots, so the result does not depend on scheduling; on failure the error of the
// lowest index in the chunk is thrown, the one a sequential loop would report.
class PreparationPool {
 public:
  PreparationPool(const config::DataConfig& data, int threads, Dataset& out,
                  std::vector<AlignOutcome>& outcomes)
      : out_(out), outcomes_(outcomes) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int t = 0; t < threads; ++t) preparers_.push_back(std::make_unique<ImagePreparer>(data));
  }

  void run(std::vector<PendingImage>& chunk) {
    std::atomic<std::size_t> next{0};
    std::mutex mutex;
    std::size_t failed = chunk.size();
    std::string failure;
    const auto fail = [&](std::size_t index, std::string message) {
      const std::lock_guard<std::mutex> lock(mutex);
      if (index < failed) {
        failed = index;
        failure = std::move(message);
      }
    };
    const auto side = static_cast<std::size_t>(out_.image_size);
    const auto work = [&](const ImagePreparer& preparer) {
      for (std::size_t i = next++; i < chunk.size(); i = next++) {
        PendingImage& item = chunk[i];
        try {
          const cv::Mat grey =
              item.bytes.empty() ? item.grey : decodeGreyImage(item.bytes, item.path);
          const PreparedImage prepared = preparer.prepare(grey);
          std::memcpy(out_.pixels.data() + item.slot * side * side, prepared.pixels.data,
                      side * side);
          outcomes_[item.slot] = prepared.outcome;
        } catch (const DataError& error) {
          const std::string message = error.what();
          fail(i, message.rfind(item.path, 0) == 0 ? message
                                                   : fmt::format("{}: {}", item.path, message));
        } catch (const std::exception& error) {
          fail(i, fmt::format("{}: cannot prepare image: {}", item.path, error.what()));
        }
        std::string().swap(item.bytes);  // the encoded file is no longer needed
      }
    };
    const std::size_t threads = std::min(preparers_.size(), std::max<std::size_t>(chunk.size(), 1));
    std::vector<std::thread> workers;
    for (std::size_t t = 1; t < threads; ++t) workers.emplace_back(work, std::cref(*preparers_[t]));
    work(*preparers_.front());
    for (std::thread& worker : workers) worker.join();
    if (failed < chunk.size()) throw DataError(failure);
  }

 private:
  Dataset& out_;
  std::vector<AlignOutcome>& outcomes_;
  std::vector<std::unique_ptr<ImagePreparer>> preparers_;
};

// An empty dataset of the model's classes with room for `count` prepared images.
Dataset allocateImages(std::size_t count, const std::vector<std::string>& model_classes,
                       int image_size) {
  Dataset images;
  images.image_size = image_size;
  images.class_names = model_classes;
  images.pixels.resize(count * static_cast<std::size_t>(image_size) * image_size);
  images.labels.reserve(count);
  images.splits.reserve(count);
  images.sample_ids.reserve(count);
  return images;
}

void addSample(Dataset& images, std::int64_t label, std::string id) {
  images.labels.push_back(label);
  images.splits.push_back(Split::Test);
  images.sample_ids.push_back(std::move(id));
}

void requireImages(const CrossDataset& dataset) {
  if (dataset.images.size() > 0) return;
  std::string dropped;
  for (const std::string& name : dataset.mapping.droppedClasses())
    dropped += (dropped.empty() ? "" : ", ") + name;
  throw DataError(fmt::format("{}: no image left to evaluate: every class is dropped ({})",
                              dataset.path, dropped));
}

// folder and fer2013: list, map, then read + hash every file in path order and prepare the
// kept ones chunk by chunk.
void readFolder(const CrossDatasetOptions& options, const std::vector<std::string>& model_classes,
                const config::DataConfig& preparation, CrossDataset& dataset, core::Hasher& hasher,
                std::vector<AlignOutcome>& outcomes) {
  fs::path root(options.path);
  std::string prefix;
  if (dataset.format == CrossDatasetFormat::Fer2013) {
    root = findSubfolder(options.path, "test");
    if (root.empty()) {
      throw DataError(fmt::format(
          "{}: no test/ folder (--format fer2013 reads the test split of FER2013's image-folder "
          "layout, test/<class>/*.jpg)",
          options.path));
    }
    prefix = root.filename().string() + "/";
  }
  const LabelledImageFolder folder = listLabelledImageFolder(root.string());
  dataset.mapping = mapClasses(options.path, folder.class_names, model_classes, options.rules);
  std::map<std::string, int> model_index;
  for (std::size_t c = 0; c < folder.class_names.size(); ++c)
    model_index[folder.class_names[c]] = dataset.mapping.model_index[c];
  std::size_t kept = 0;
  for (const LabelledImageFile& file : folder.files) kept += model_index[file.class_name] >= 0;

  dataset.images = allocateImages(kept, model_classes, preparation.image_size);
  outcomes.assign(kept, AlignOutcome::None);
  PreparationPool pool(preparation, options.threads, dataset.images, outcomes);
  hasher.update(static_cast<std::uint64_t>(folder.files.size()));
  std::vector<PendingImage> chunk;
  core::ProgressLine progress;
  for (std::size_t i = 0; i < folder.files.size(); ++i) {
    const LabelledImageFile& file = folder.files[i];
    const fs::path path = root / file.relative_path;
    std::string bytes = core::readFileBytes(path);
    const std::string id = prefix + file.relative_path;
    hashBlob(hasher, id);
    hashBlob(hasher, bytes);
    const int label = model_index[file.class_name];
    if (label < 0) {
      ++dataset.dropped_images;
      continue;
    }
    const std::size_t slot = dataset.images.size();
    addSample(dataset.images, label, id);
    chunk.push_back({slot, path.string(), std::move(bytes), {}});
    if (chunk.size() == kChunk) {
      pool.run(chunk);
      chunk.clear();
      progress.update(fmt::format("preparing {}: {}/{}", dataset.name, i + 1, folder.files.size()));
    }
  }
  pool.run(chunk);
}

// The square side of a CSV row's pixels: sqrt of its value count. Throws DataError naming
// path:line when the count is not a square.
int csvImageSide(const RawChallengeCsv& csv, const CsvRow& row) {
  const std::string_view text(csv.text.data() + row.pixels_offset, row.pixels_length);
  std::size_t values = 0;
  bool in_value = false;
  for (const char c : text) {
    const bool blank = c == ' ' || c == '\t';
    values += !blank && !in_value;
    in_value = !blank;
  }
  const auto side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(values))));
  if (values == 0 || static_cast<std::size_t>(side) * side != values) {
    throw DataError(fmt::format("{}:{}: {} pixel values do not make a square image", csv.path,
                                row.line, values));
  }
  return side;
}

void readCsv(const CrossDatasetOptions& options, const std::vector<std::string>& model_classes,
             const config::DataConfig& preparation, CrossDataset& dataset, core::Hasher& hasher,
             std::vector<AlignOutcome>& outcomes) {
  RawChallengeCsv csv = scanChallengeCsv(options.path);
  hashBlob(hasher, fs::path(options.path).filename().string());
  hashBlob(hasher, csv.text);
  // FER2013's held-out rows when the file marks any, else every row (see the header).
  const bool held_out = csv.coverage.has_val || csv.coverage.has_test;
  std::vector<CsvRow> rows;
  for (const CsvRow& row : csv.rows) {
    if (!held_out || row.split != Split::Train) rows.push_back(row);
  }
  const std::vector<std::string>& fer_names = fer2013ClassNames();
  std::vector<std::string> classes;
  for (const CsvRow& row : rows) classes.push_back(fer_names[static_cast<std::size_t>(row.label)]);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  dataset.mapping = mapClasses(options.path, classes, model_classes, options.rules);
  std::map<std::string, int> model_index;
  for (std::size_t c = 0; c < classes.size(); ++c)
    model_index[classes[c]] = dataset.mapping.model_index[c];

  RawChallengeCsv selected;
  selected.path = csv.path;
  for (const CsvRow& row : rows) {
    if (model_index[fer_names[static_cast<std::size_t>(row.label)]] >= 0) {
      selected.rows.push_back(row);
    } else {
      ++dataset.dropped_images;
    }
  }
  dataset.images = allocateImages(0, model_classes, preparation.image_size);
  if (selected.rows.empty()) return;
  const int side = csvImageSide(csv, selected.rows.front());
  selected.text = std::move(csv.text);  // the rows' offsets point into it
  const Dataset raw = decodeChallengeCsv(selected, side);

  dataset.images = allocateImages(raw.size(), model_classes, preparation.image_size);
  outcomes.assign(raw.size(), AlignOutcome::None);
  PreparationPool pool(preparation, options.threads, dataset.images, outcomes);
  std::vector<PendingImage> chunk;
  const auto pixels = static_cast<std::size_t>(side) * side;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto label = model_index[fer_names[static_cast<std::size_t>(raw.labels[i])]];
    addSample(dataset.images, label, raw.sample_ids[i]);
    // A view of the decoded row: `raw` outlives the pool's pass.
    cv::Mat grey(side, side, CV_8UC1, const_cast<std::uint8_t*>(raw.pixels.data() + i * pixels));
    chunk.push_back({i, fmt::format("{}:{}", options.path, selected.rows[i].line), {}, grey});
    if (chunk.size() == kChunk) {
      pool.run(chunk);
      chunk.clear();
    }
  }
  pool.run(chunk);
}

AlignmentCounts countOutcomes(const std::vector<AlignOutcome>& outcomes) {
  AlignmentCounts counts{0, 0, 0};
  for (const AlignOutcome outcome : outcomes) {
    switch (outcome) {
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
  return counts;
}

}  // namespace

const char* crossDatasetFormatName(CrossDatasetFormat format) {
  switch (format) {
    case CrossDatasetFormat::Auto:
      return "auto";
    case CrossDatasetFormat::Folder:
      return "folder";
    case CrossDatasetFormat::Fer2013:
      return "fer2013";
    case CrossDatasetFormat::Csv:
      return "csv";
  }
  return "unknown";
}

CrossDatasetFormat parseCrossDatasetFormat(const std::string& name) {
  for (const CrossDatasetFormat format : {CrossDatasetFormat::Auto, CrossDatasetFormat::Folder,
                                          CrossDatasetFormat::Fer2013, CrossDatasetFormat::Csv}) {
    if (name == crossDatasetFormatName(format)) return format;
  }
  throw UsageError(fmt::format("--format '{}': expected one of auto, folder, fer2013, csv", name));
}

CrossDataset readCrossDataset(const CrossDatasetOptions& options,
                              const std::vector<std::string>& model_classes,
                              const config::DataConfig& preparation) {
  const core::Stopwatch stopwatch;
  CrossDataset dataset;
  dataset.path = options.path;
  dataset.format = resolveFormat(options);
  dataset.name = datasetName(options.path, dataset.format);
  core::Hasher hasher;
  std::vector<AlignOutcome> outcomes;
  if (dataset.format == CrossDatasetFormat::Csv) {
    readCsv(options, model_classes, preparation, dataset, hasher, outcomes);
  } else {
    readFolder(options, model_classes, preparation, dataset, hasher, outcomes);
  }
  dataset.content_hash = hasher.hex();
  requireImages(dataset);
  if (preparation.align == config::Align::Eyes) {
    dataset.images.alignment = countOutcomes(outcomes);
    log::info("{}: face alignment: {} aligned, {} face only, {} no face of {} images", dataset.name,
              dataset.images.alignment.aligned, dataset.images.alignment.face_only,
              dataset.images.alignment.none, dataset.images.size());
  }
  log::info("{}: {} images prepared ({} dropped) in {:.1f} s", dataset.name, dataset.images.size(),
            dataset.dropped_images, stopwatch.seconds());
  return dataset;
}

}  // namespace ferlab::data
