#include "framework/data/Fer2013Reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>

#include "framework/core/Errors.h"
#include "framework/core/FileBytes.h"
#include "framework/core/Progress.h"
#include "framework/data/ImagePreparer.h"

namespace ferlab::data {
namespace {

namespace fs = std::filesystem;

std::string toLower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::string_view trim(std::string_view text) {
  const auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
  return text;
}

// A CSV field without surrounding blanks and quotes. FER2013 fields never contain commas,
// so quoting (as some CSV writers add anyway) carries no meaning here.
std::string_view unquote(std::string_view field) {
  field = trim(field);
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    field = trim(field.substr(1, field.size() - 2));
  }
  return field;
}

// ---------------------------------------------------------------- image-folder layout ----

bool isHidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name.front() == '.';
}

bool isImageFile(const fs::path& path) {
  const std::string extension = toLower(path.extension().string());
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png" || extension == ".bmp";
}

struct DirectoryListing {
  std::vector<fs::path> folders;  // sorted, hidden ones left out
  std::vector<fs::path> images;   // sorted image files, hidden ones left out
};

DirectoryListing listDirectory(const fs::path& directory) {
  DirectoryListing listing;
  std::error_code error;
  fs::directory_iterator it(directory, error), end;
  for (; !error && it != end; it.increment(error)) {
    const fs::path& path = it->path();
    if (isHidden(path)) continue;
    std::error_code typeError;
    if (it->is_directory(typeError)) {
      listing.folders.push_back(path);
    } else if (it->is_regular_file(typeError) && isImageFile(path)) {
      listing.images.push_back(path);
    }
  }
  if (error)
    throw DataError(fmt::format("{}: cannot list folder: {}", directory.string(), error.message()));
  std::sort(listing.folders.begin(), listing.folders.end());
  std::sort(listing.images.begin(), listing.images.end());
  return listing;
}

std::string expectedClassList() {
  std::string list;
  for (const std::string& name : fer2013ClassNames()) {
    if (!list.empty()) list += ", ";
    list += name;
  }
  return list;
}

// Folder names map to the CSV label order; matched case-insensitively because re-packed
// copies of the dataset ("Angry/") are common and unambiguous.
std::int64_t classLabelOf(const fs::path& folder) {
  const std::string name = toLower(folder.filename().string());
  const std::vector<std::string>& names = fer2013ClassNames();
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) {
    throw DataError(fmt::format("{}: unknown class folder '{}' (expected one of {})",
                                folder.parent_path().string(), folder.filename().string(),
                                expectedClassList()));
  }
  return static_cast<std::int64_t>(found - names.begin());
}

std::optional<Split> splitFromPrefix(const std::string& fileName) {
  const auto startsWith = [&](const char* prefix) {
    return fileName.compare(0, std::strlen(prefix), prefix) == 0;
  };
  if (startsWith("Training_")) return Split::Train;
  if (startsWith("PublicTest_")) return Split::Val;
  if (startsWith("PrivateTest_")) return Split::Test;
  return std::nullopt;
}

// A file found in a class folder, before its bytes are read.
struct FoundImage {
  fs::path path;
  std::string relative_path;
  std::int64_t label;
  Split folder_split;  // from train/ or test/ (Train when the layout has neither)
};

void rejectStrayImages(const DirectoryListing& listing) {
  if (!listing.images.empty()) {
    throw DataError(fmt::format("{}: image outside a class folder (expected <class>/{})",
                                listing.images.front().string(),
                                listing.images.front().filename().string()));
  }
}

void collectClassFolder(const fs::path& folder, const fs::path& root, Split folderSplit,
                        std::vector<FoundImage>& found) {
  const std::int64_t label = classLabelOf(folder);
  const DirectoryListing listing = listDirectory(folder);
  if (!listing.folders.empty()) {
    throw DataError(fmt::format("{}: unexpected folder inside class folder '{}'",
                                listing.folders.front().string(), folder.filename().string()));
  }
  for (const fs::path& image : listing.images) {
    found.push_back({image, image.lexically_relative(root).generic_string(), label, folderSplit});
  }
}

// Walks root/{train,test}/<class>/ or root/<class>/; any folder that fits neither is an error
// rather than silently skipped data.
std::vector<FoundImage> findImages(const fs::path& root) {
  const DirectoryListing top = listDirectory(root);
  const bool splitLayout =
      std::any_of(top.folders.begin(), top.folders.end(), [](const fs::path& folder) {
        const std::string name = toLower(folder.filename().string());
        return name == "train" || name == "test";
      });
  rejectStrayImages(top);
  std::vector<FoundImage> found;
  if (!splitLayout) {
    for (const fs::path& folder : top.folders)
      collectClassFolder(folder, root, Split::Train, found);
    return found;
  }
  for (const fs::path& splitFolder : top.folders) {
    const std::string name = toLower(splitFolder.filename().string());
    if (name != "train" && name != "test") {
      throw DataError(fmt::format("{}: unexpected folder '{}' (expected train/ and test/)",
                                  root.string(), splitFolder.filename().string()));
    }
    const Split folderSplit = name == "train" ? Split::Train : Split::Test;
    const DirectoryListing classes = listDirectory(splitFolder);
    rejectStrayImages(classes);
    for (const fs::path& folder : classes.folders) {
      collectClassFolder(folder, root, folderSplit, found);
    }
  }
  return found;
}

// The official split lives in the file-name prefix. A layout that uses prefixes must use
// them everywhere: one unprefixed file would otherwise land in a split by accident.
void assignSplits(const std::vector<FoundImage>& found, std::vector<RawImage>& images) {
  const bool anyPrefix = std::any_of(found.begin(), found.end(), [](const FoundImage& image) {
    return splitFromPrefix(image.path.filename().string()).has_value();
  });
  for (std::size_t i = 0; i < found.size(); ++i) {
    const std::optional<Split> prefixSplit = splitFromPrefix(found[i].path.filename().string());
    if (anyPrefix && !prefixSplit) {
      throw DataError(fmt::format(
          "{}: file name has no Training_/PublicTest_/PrivateTest_ prefix, unlike the other "
          "images of this dataset",
          found[i].path.string()));
    }
    images[i].split = prefixSplit.value_or(found[i].folder_split);
  }
}

SplitCoverage coverageOf(const std::vector<Split>& splits) {
  SplitCoverage coverage;
  for (Split split : splits) {
    coverage.has_val = coverage.has_val || split == Split::Val;
    coverage.has_test = coverage.has_test || split == Split::Test;
  }
  return coverage;
}

void checkImageSize(int imageSize) {
  if (imageSize <= 0)
    throw DataError(fmt::format("data.image_size = {}: must be positive", imageSize));
}

// Decodes one encoded image into `out` (image_size^2 bytes), with the grey decoding that
// cross-dataset evaluation uses too (ImagePreparer.h), so a PNG copy of a face decodes like
// its JPEG.
void decodeInto(const std::string& bytes, const std::string& path, int imageSize,
                std::uint8_t* out) {
  const cv::Mat image = decodeGreyImage(bytes, path);
  if (image.cols != imageSize || image.rows != imageSize) {
    throw DataError(fmt::format("{}: image is {}x{} pixels, expected {}x{}", path, image.cols,
                                image.rows, imageSize, imageSize));
  }
  for (int row = 0; row < imageSize; ++row) {
    std::memcpy(out + static_cast<std::size_t>(row) * imageSize, image.ptr<std::uint8_t>(row),
                static_cast<std::size_t>(imageSize));
  }
}

// Runs decodeOne(i) for every i in [0, count) on OpenCV's thread pool. Samples are
// independent and land in disjoint slots, so the result does not depend on scheduling; on
// failure the error of the lowest index is thrown, the one a sequential loop would report.
void decodeAll(std::size_t count, const std::function<void(std::size_t)>& decodeOne) {
  std::mutex mutex;
  std::size_t failedIndex = count;
  std::string failure;
  cv::parallel_for_(cv::Range(0, static_cast<int>(count)), [&](const cv::Range& range) {
    for (int i = range.start; i < range.end; ++i) {
      try {
        decodeOne(static_cast<std::size_t>(i));
      } catch (const DataError& error) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (static_cast<std::size_t>(i) < failedIndex) {
          failedIndex = static_cast<std::size_t>(i);
          failure = error.what();
        }
        return;  // later samples of this range cannot have a lower index
      }
    }
  });
  if (failedIndex < count) throw DataError(failure);
}

// ---------------------------------------------------------------- challenge CSV ----

struct CsvColumns {
  std::size_t count = 0;
  std::size_t emotion = 0, pixels = 0;
  std::optional<std::size_t> usage;
};

std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

CsvColumns parseHeader(std::string_view header, const std::string& path) {
  const std::vector<std::string_view> names = splitFields(header);
  CsvColumns columns;
  columns.count = names.size();
  std::optional<std::size_t> emotion, pixels;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string name = toLower(unquote(names[i]));
    if (name == "emotion") emotion = i;
    if (name == "pixels") pixels = i;
    if (name == "usage") columns.usage = i;
  }
  const auto require = [&](const std::optional<std::size_t>& column, const char* name) {
    if (column) return *column;
    throw DataError(
        fmt::format("{}:1: missing column '{}' (header is '{}'; expected emotion,pixels[,Usage])",
                    path, name, trim(header)));
  };
  columns.emotion = require(emotion, "emotion");
  columns.pixels = require(pixels, "pixels");
  return columns;
}

std::int64_t parseLabel(std::string_view field, const std::string& where) {
  const std::string_view text = unquote(field);
  std::int64_t label = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), label);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    throw DataError(fmt::format("{}: emotion '{}' is not an integer", where, text));
  }
  const auto classes = static_cast<std::int64_t>(fer2013ClassNames().size());
  if (label < 0 || label >= classes) {
    throw DataError(fmt::format("{}: emotion {} out of range 0..{}", where, label, classes - 1));
  }
  return label;
}

Split parseUsage(std::string_view field, const std::string& where) {
  const std::string_view usage = unquote(field);
  if (usage == "Training") return Split::Train;
  if (usage == "PublicTest") return Split::Val;
  if (usage == "PrivateTest") return Split::Test;
  throw DataError(fmt::format(
      "{}: unknown Usage '{}' (expected Training, PublicTest or PrivateTest)", where, usage));
}

// The label and Usage of the data row `line` (line `lineNumber` of `path`), and its pixels
// field, unquoted, in `pixels`.
CsvRow parseRow(std::string_view line, const CsvColumns& columns, const std::string& path,
                std::size_t lineNumber, std::string_view* pixels) {
  const std::string where = fmt::format("{}:{}", path, lineNumber);
  const std::vector<std::string_view> fields = splitFields(line);
  if (fields.size() != columns.count) {
    throw DataError(
        fmt::format("{}: expected {} fields, got {}", where, columns.count, fields.size()));
  }
  CsvRow row;
  row.line = lineNumber;
  row.label = parseLabel(fields[columns.emotion], where);
  row.split = columns.usage ? parseUsage(fields[*columns.usage], where) : Split::Train;
  *pixels = unquote(fields[columns.pixels]);
  return row;
}

// Parses "70 80 82 ..." into exactly `out.size()` bytes. Hand-written rather than a stream:
// the full CSV holds 83 million values.
void parsePixels(std::string_view text, const std::string& path, std::size_t line,
                 std::uint8_t* out, std::size_t expected) {
  const auto where = [&] { return fmt::format("{}:{}", path, line); };
  std::size_t count = 0;
  std::size_t i = 0;
  while (true) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == text.size()) break;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    const std::string_view token = text.substr(start, i - start);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (error == std::errc::result_out_of_range ||
        (error == std::errc() && end == token.data() + token.size() && value > 255)) {
      throw DataError(fmt::format("{}: pixel value {} out of range 0..255", where(), token));
    }
    if (error != std::errc() || end != token.data() + token.size()) {
      throw DataError(fmt::format("{}: pixel value '{}' is not an integer 0..255", where(), token));
    }
    if (count < expected) out[count] = static_cast<std::uint8_t>(value);
    ++count;
  }
  if (count != expected) {
    throw DataError(fmt::format("{}: expected {} pixel values, got {}", where(), expected, count));
  }
}

// A dataset with FER2013's classes and room for `count` images of imageSize x imageSize.
Dataset allocateDataset(std::size_t count, int imageSize) {
  Dataset dataset;
  dataset.image_size = imageSize;
  dataset.class_names = fer2013ClassNames();
  dataset.pixels.resize(count * static_cast<std::size_t>(imageSize) * imageSize);
  dataset.labels.reserve(count);
  dataset.splits.reserve(count);
  dataset.sample_ids.reserve(count);
  return dataset;
}

}  // namespace

RawImageFolder scanImageFolder(const std::string& root) {
  const fs::path rootPath(root);
  std::error_code error;
  if (!fs::exists(rootPath, error)) throw DataError(fmt::format("{}: does not exist", root));
  if (!fs::is_directory(rootPath, error)) {
    throw DataError(fmt::format("{}: is not a folder", root));
  }
  std::vector<FoundImage> found = findImages(rootPath);
  if (found.empty()) {
    throw DataError(
        fmt::format("{}: no images found (expected train/<class>/*.jpg and test/<class>/*.jpg, or "
                    "<class>/*.jpg)",
                    root));
  }
  // Sorted by the relative path string, so sample order (and the cache key) is the same on
  // every machine whatever order the filesystem lists entries in.
  std::sort(found.begin(), found.end(), [](const FoundImage& a, const FoundImage& b) {
    return a.relative_path < b.relative_path;
  });

  RawImageFolder folder;
  folder.root = root;
  folder.images.resize(found.size());
  assignSplits(found, folder.images);
  core::ProgressLine progress;
  std::vector<Split> splits;
  splits.reserve(found.size());
  for (std::size_t i = 0; i < found.size(); ++i) {
    RawImage& image = folder.images[i];
    image.relative_path = std::move(found[i].relative_path);
    image.label = found[i].label;
    image.bytes = core::readFileBytes(found[i].path);
    splits.push_back(image.split);
    if (i % 1024 == 0) progress.update(fmt::format("reading {}: {}/{}", root, i, found.size()));
  }
  folder.coverage = coverageOf(splits);
  return folder;
}

Dataset decodeImageFolder(const RawImageFolder& folder, int imageSize) {
  checkImageSize(imageSize);
  const std::size_t count = folder.images.size();
  const std::size_t pixelsPerImage = static_cast<std::size_t>(imageSize) * imageSize;
  Dataset dataset = allocateDataset(count, imageSize);
  for (const RawImage& image : folder.images) {
    dataset.labels.push_back(image.label);
    dataset.splits.push_back(image.split);
    dataset.sample_ids.push_back(image.relative_path);
  }
  const fs::path root(folder.root);
  decodeAll(count, [&](std::size_t i) {
    const RawImage& image = folder.images[i];
    decodeInto(image.bytes, (root / image.relative_path).string(), imageSize,
               dataset.pixels.data() + i * pixelsPerImage);
  });
  return dataset;
}

Dataset readImageFolder(const std::string& root, int imageSize, SplitCoverage* coverage) {
  checkImageSize(imageSize);
  const RawImageFolder folder = scanImageFolder(root);
  if (coverage != nullptr) *coverage = folder.coverage;
  return decodeImageFolder(folder, imageSize);
}

RawChallengeCsv scanChallengeCsv(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) throw DataError(fmt::format("{}: does not exist", path));
  RawChallengeCsv csv;
  csv.path = path;
  csv.text = core::readFileBytes(path);
  std::string_view text(csv.text);
  std::size_t offset = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") offset = 3;  // UTF-8 byte-order mark (Excel)

  std::optional<CsvColumns> columns;
  std::vector<Split> splits;
  for (std::size_t lineNumber = 1; offset < text.size(); ++lineNumber) {
    std::size_t end = text.find('\n', offset);
    if (end == std::string_view::npos) end = text.size();
    const std::size_t lineStart = offset;
    std::string_view line = text.substr(lineStart, end - lineStart);
    offset = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!columns) {
      columns = parseHeader(line, path);
      continue;
    }
    if (trim(line).empty()) continue;
    std::string_view pixels;
    CsvRow row = parseRow(line, *columns, path, lineNumber, &pixels);
    row.pixels_offset = static_cast<std::size_t>(pixels.data() - text.data());
    row.pixels_length = pixels.size();
    csv.rows.push_back(row);
    splits.push_back(row.split);
  }
  if (!columns) throw DataError(fmt::format("{}: empty file (expected a header line)", path));
  if (csv.rows.empty()) throw DataError(fmt::format("{}: no data rows", path));
  csv.coverage = coverageOf(splits);
  return csv;
}

Dataset decodeChallengeCsv(const RawChallengeCsv& csv, int imageSize) {
  checkImageSize(imageSize);
  const std::size_t count = csv.rows.size();
  const std::size_t pixelsPerImage = static_cast<std::size_t>(imageSize) * imageSize;
  const std::string fileName = fs::path(csv.path).filename().string();
  Dataset dataset = allocateDataset(count, imageSize);
  for (const CsvRow& row : csv.rows) {
    dataset.labels.push_back(row.label);
    dataset.splits.push_back(row.split);
    dataset.sample_ids.push_back(fmt::format("{}:{}", fileName, row.line));
  }
  const std::string_view text(csv.text);
  decodeAll(count, [&](std::size_t i) {
    const CsvRow& row = csv.rows[i];
    parsePixels(text.substr(row.pixels_offset, row.pixels_length), csv.path, row.line,
                dataset.pixels.data() + i * pixelsPerImage, pixelsPerImage);
  });
  return dataset;
}

Dataset readChallengeCsv(const std::string& path, int imageSize, SplitCoverage* coverage) {
  checkImageSize(imageSize);
  const RawChallengeCsv csv = scanChallengeCsv(path);
  if (coverage != nullptr) *coverage = csv.coverage;
  return decodeChallengeCsv(csv, imageSize);
}

Dataset readChallengeCsvLines(const std::string& path, const std::vector<std::size_t>& lines,
                              int imageSize) {
  checkImageSize(imageSize);
  std::error_code error;
  if (!fs::exists(path, error)) throw DataError(fmt::format("{}: does not exist", path));
  if (fs::is_directory(path, error)) throw DataError(fmt::format("{}: is a folder", path));
  std::ifstream file(path, std::ios::binary);
  if (!file) throw DataError(fmt::format("{}: cannot open file", path));
  const std::set<std::size_t> wanted(lines.begin(), lines.end());
  const std::size_t pixelsPerImage = static_cast<std::size_t>(imageSize) * imageSize;
  const std::string fileName = fs::path(path).filename().string();
  Dataset dataset = allocateDataset(0, imageSize);
  std::optional<CsvColumns> columns;
  std::string text;
  // Line by line, stopping after the last line asked for: the full CSV is 290 MB.
  for (std::size_t lineNumber = 1;
       !wanted.empty() && lineNumber <= *wanted.rbegin() && std::getline(file, text);
       ++lineNumber) {
    std::string_view line(text);
    if (lineNumber == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!columns) {
      columns = parseHeader(line, path);
      continue;
    }
    if (wanted.count(lineNumber) == 0 || trim(line).empty()) continue;
    std::string_view pixels;
    const CsvRow row = parseRow(line, *columns, path, lineNumber, &pixels);
    dataset.labels.push_back(row.label);
    dataset.splits.push_back(row.split);
    dataset.sample_ids.push_back(fmt::format("{}:{}", fileName, lineNumber));
    dataset.pixels.resize(dataset.pixels.size() + pixelsPerImage);
    parsePixels(pixels, path, lineNumber,
                dataset.pixels.data() + dataset.pixels.size() - pixelsPerImage, pixelsPerImage);
  }
  return dataset;
}

std::string opencvVersion() {
  return cv::getVersionString();
}

}  // namespace ferlab::data
