#include "framework/data/DatasetCache.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/core/Hash.h"
#include "framework/core/Log.h"
#include "framework/core/Stopwatch.h"
#include "framework/data/FaceAligner.h"
#include "framework/data/Fer2013Reader.h"
#include "framework/data/Splits.h"

namespace ferlab::data {
namespace {

namespace fs = std::filesystem;

// File layout (all integers little-endian):
//   "FERLABDS" | u32 version | u32 image_size | u64 N | u32 classes, per class u32 length +
//   name | N x i64 labels | N x u8 splits | N*S*S pixels | N x (u32 length + sample id) |
//   u32 length + key | [version 2 only: 3 x u64 alignment counts aligned, face_only, none] |
//   u64 FNV-1a of every preceding byte.
// Bump kFormatVersion whenever the meaning of the decoded data changes: it is hashed into
// every key, so old cache files simply stop matching. Unaligned datasets are written as
// layout 1, so the alignment counts (layout 2) left every existing key and file valid.
constexpr char kMagic[8] = {'F', 'E', 'R', 'L', 'A', 'B', 'D', 'S'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::uint32_t kAlignedLayout = 2;
// Sanity bounds that stop a corrupt header from asking for absurd allocations.
constexpr std::uint32_t kMaxImageSize = 4096;
constexpr std::uint32_t kMaxClasses = 4096;

// The reader's way of saying "not a valid cache file"; never leaves this file.
struct CorruptCache {
  std::string reason;
};

class CacheWriter {
 public:
  explicit CacheWriter(std::ofstream& out) : out_(out) {}

  void bytes(const void* data, std::size_t size) {
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    hasher_.update(data, size);
  }
  void u32(std::uint32_t value) { littleEndian(value, 4); }
  void u64(std::uint64_t value) { littleEndian(value, 8); }
  void string(const std::string& text) {
    u32(static_cast<std::uint32_t>(text.size()));
    bytes(text.data(), text.size());
  }
  std::uint64_t checksum() const { return hasher_.digest(); }

 private:
  void littleEndian(std::uint64_t value, int size) {
    unsigned char buffer[8];
    for (int i = 0; i < size; ++i) buffer[i] = static_cast<unsigned char>(value >> (8 * i));
    bytes(buffer, static_cast<std::size_t>(size));
  }

  std::ofstream& out_;
  core::Hasher hasher_;
};

class CacheReader {
 public:
  CacheReader(std::ifstream& in, std::uint64_t size) : in_(in), remaining_(size) {}

  void bytes(void* data, std::size_t size) {
    need(size);
    if (!in_.read(static_cast<char*>(data), static_cast<std::streamsize>(size))) {
      throw CorruptCache{"read failed"};
    }
    remaining_ -= size;
    hasher_.update(data, size);
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(littleEndian(4)); }
  std::uint64_t u64() { return littleEndian(8); }
  std::string string() {
    const std::uint32_t size = u32();
    need(size);
    std::string text(size, '\0');
    bytes(text.data(), size);
    return text;
  }
  /// Throws unless `size` more bytes exist: checked before allocating, so a corrupt count
  /// fails here instead of in operator new.
  void need(std::uint64_t size) const {
    if (size > remaining_) throw CorruptCache{"truncated"};
  }
  std::uint64_t remaining() const { return remaining_; }
  std::uint64_t checksum() const { return hasher_.digest(); }

 private:
  std::uint64_t littleEndian(int size) {
    unsigned char buffer[8];
    bytes(buffer, static_cast<std::size_t>(size));
    std::uint64_t value = 0;
    for (int i = 0; i < size; ++i) value |= static_cast<std::uint64_t>(buffer[i]) << (8 * i);
    return value;
  }

  std::ifstream& in_;
  std::uint64_t remaining_;
  core::Hasher hasher_;
};

void writeBody(const Dataset& dataset, CacheWriter& writer) {
  const std::size_t count = dataset.size();
  const bool aligned = dataset.alignment.known();
  writer.bytes(kMagic, sizeof kMagic);
  writer.u32(aligned ? kAlignedLayout : kFormatVersion);
  writer.u32(static_cast<std::uint32_t>(dataset.image_size));
  writer.u64(count);
  writer.u32(static_cast<std::uint32_t>(dataset.class_names.size()));
  for (const std::string& name : dataset.class_names) writer.string(name);
  std::vector<unsigned char> labels(count * 8);
  for (std::size_t i = 0; i < count; ++i) {
    const auto value = static_cast<std::uint64_t>(dataset.labels[i]);
    for (int b = 0; b < 8; ++b) labels[i * 8 + b] = static_cast<unsigned char>(value >> (8 * b));
  }
  writer.bytes(labels.data(), labels.size());
  std::vector<std::uint8_t> splits(count);
  for (std::size_t i = 0; i < count; ++i) splits[i] = static_cast<std::uint8_t>(dataset.splits[i]);
  writer.bytes(splits.data(), splits.size());
  writer.bytes(dataset.pixels.data(), dataset.pixels.size());
  for (const std::string& id : dataset.sample_ids) writer.string(id);
  writer.string(dataset.key);
  if (aligned) {
    for (const std::int64_t value :
         {dataset.alignment.aligned, dataset.alignment.face_only, dataset.alignment.none}) {
      writer.u64(static_cast<std::uint64_t>(value));
    }
  }
}

void checkWritable(const Dataset& dataset, const std::string& path) {
  const std::size_t count = dataset.size();
  const auto side = static_cast<std::size_t>(std::max(dataset.image_size, 0));
  if (dataset.image_size <= 0 || dataset.splits.size() != count ||
      dataset.sample_ids.size() != count || dataset.pixels.size() != count * side * side) {
    throw DataError(fmt::format(
        "{}: refusing to cache an inconsistent dataset ({} labels, {} splits, {} sample ids, "
        "{} pixel bytes at {}x{})",
        path, count, dataset.splits.size(), dataset.sample_ids.size(), dataset.pixels.size(),
        dataset.image_size, dataset.image_size));
  }
}

Dataset readBody(CacheReader& reader) {
  char magic[sizeof kMagic];
  reader.bytes(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) throw CorruptCache{"not a FERLab cache"};
  const std::uint32_t version = reader.u32();
  if (version != kFormatVersion && version != kAlignedLayout) {
    throw CorruptCache{fmt::format("format version {}, expected {} or {}", version, kFormatVersion,
                                   kAlignedLayout)};
  }
  Dataset dataset;
  const std::uint32_t side = reader.u32();
  if (side == 0 || side > kMaxImageSize) throw CorruptCache{fmt::format("image size {}", side)};
  dataset.image_size = static_cast<int>(side);
  const std::uint64_t count = reader.u64();
  // Every sample takes at least 9 bytes of labels and splits plus its pixels and id length.
  if (count > reader.remaining() / (13 + std::uint64_t{side} * side))
    throw CorruptCache{"truncated"};
  const std::uint32_t classes = reader.u32();
  if (classes > kMaxClasses) throw CorruptCache{fmt::format("{} classes", classes)};
  for (std::uint32_t i = 0; i < classes; ++i) dataset.class_names.push_back(reader.string());

  std::vector<unsigned char> labels(count * 8);
  reader.bytes(labels.data(), labels.size());
  dataset.labels.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t value = 0;
    for (int b = 0; b < 8; ++b) value |= std::uint64_t{labels[i * 8 + b]} << (8 * b);
    const auto label = static_cast<std::int64_t>(value);
    if (label < 0 || label >= static_cast<std::int64_t>(classes)) {
      throw CorruptCache{fmt::format("label {} of sample {}", label, i)};
    }
    dataset.labels[i] = label;
  }
  std::vector<std::uint8_t> splits(count);
  reader.bytes(splits.data(), splits.size());
  dataset.splits.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (splits[i] > static_cast<std::uint8_t>(Split::Test)) {
      throw CorruptCache{fmt::format("split {} of sample {}", splits[i], i)};
    }
    dataset.splits[i] = static_cast<Split>(splits[i]);
  }
  dataset.pixels.resize(count * side * side);
  reader.bytes(dataset.pixels.data(), dataset.pixels.size());
  dataset.sample_ids.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) dataset.sample_ids.push_back(reader.string());
  dataset.key = reader.string();
  if (version == kAlignedLayout) {
    AlignmentCounts& counts = dataset.alignment;
    counts.aligned = static_cast<std::int64_t>(reader.u64());
    counts.face_only = static_cast<std::int64_t>(reader.u64());
    counts.none = static_cast<std::int64_t>(reader.u64());
    if (counts.aligned < 0 || counts.face_only < 0 || counts.none < 0 ||
        static_cast<std::uint64_t>(counts.aligned + counts.face_only + counts.none) != count) {
      throw CorruptCache{"alignment counts do not sum to the image count"};
    }
  }

  const std::uint64_t expected = reader.checksum();
  if (reader.u64() != expected) throw CorruptCache{"checksum mismatch"};
  if (reader.remaining() != 0) throw CorruptCache{"trailing bytes"};
  return dataset;
}

// ---------------------------------------------------------------- loadDataset ----

std::string lowerExtension(const fs::path& path) {
  std::string extension = path.extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return extension;
}

/// Folder or Csv: data.format, or for Auto what data.path is.
config::DataFormat resolveFormat(const config::DataConfig& config) {
  using config::DataFormat;
  const fs::path path(config.path);
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) {
    throw DataError(fmt::format("{}: does not exist (data.path)", config.path));
  }
  const bool isFolder = fs::is_directory(status);
  const bool isFile = fs::is_regular_file(status);
  switch (config.format) {
    case DataFormat::Auto:
      if (isFile && lowerExtension(path) == ".csv") return DataFormat::Csv;
      if (isFolder) return DataFormat::Folder;
      throw DataError(fmt::format(
          "{}: neither a folder nor a .csv file (data.path; set data.format to read it anyway)",
          config.path));
    case DataFormat::Folder:
      if (!isFolder)
        throw DataError(fmt::format("{}: not a folder (data.format = folder)", config.path));
      return DataFormat::Folder;
    case DataFormat::Csv:
      if (!isFile) throw DataError(fmt::format("{}: not a file (data.format = csv)", config.path));
      return DataFormat::Csv;
  }
  throw std::logic_error("resolveFormat: unhandled data.format");
}

void hashBlob(core::Hasher& hasher, std::string_view blob) {
  // Length first, so ("ab", "c") and ("a", "bc") hash differently.
  hasher.update(static_cast<std::uint64_t>(blob.size()));
  hasher.update(blob);
}

// Everything besides the source bytes that changes the decoded dataset. The split settings
// count only when a split is carved: with official splits they change nothing, and keying
// on them would make every split_seed in a grid decode FER2013 again.
std::string settingsOf(config::DataFormat reader, const SplitCoverage& coverage,
                       const config::DataConfig& config) {
  std::string settings = fmt::format("ferlab-dataset-cache v{} reader={} image_size={}",
                                     kFormatVersion, config::choiceName(reader), config.image_size);
  // JPEG decoders may round differently across versions; OpenCV's version is the part of
  // that we can see.
  if (reader == config::DataFormat::Folder)
    settings += fmt::format(" decoder=opencv-{}", opencvVersion());
  if (!coverage.has_val) settings += fmt::format(" val_fraction={}", config.val_fraction);
  if (!coverage.has_test) settings += fmt::format(" test_fraction={}", config.test_fraction);
  if (!coverage.has_val || !coverage.has_test) {
    settings += fmt::format(" split_seed={}", config.split_seed);
  }
  // Only when on: data.align = "none" keeps the keys (and cache files) it always had. The
  // cascades are keyed by content and the method by kAlignMethodVersion.
  if (config.align != config::Align::None) {
    settings += fmt::format(
        " align={} align_method={} align_margin={} align_upsample={} "
        "cascades=[{}]",
        config::choiceName(config.align), kAlignMethodVersion, config.align_margin,
        config.align_upsample, cascadeFingerprint(config.cascade_dir));
  }
  return settings;
}

// A source read from disk but not decoded: exactly one of the two is set.
struct RawSource {
  config::DataFormat reader = config::DataFormat::Folder;  ///< Folder or Csv
  std::optional<RawImageFolder> folder;
  std::optional<RawChallengeCsv> csv;

  const SplitCoverage& coverage() const { return folder ? folder->coverage : csv->coverage; }
};

RawSource scanSource(const config::DataConfig& config) {
  RawSource source;
  source.reader = resolveFormat(config);
  if (source.reader == config::DataFormat::Folder) {
    source.folder = scanImageFolder(config.path);
  } else {
    source.csv = scanChallengeCsv(config.path);
  }
  return source;
}

// Relative paths (not the root) and the CSV's file name (not its folder) are hashed, so a
// moved or re-mounted copy of the same data still hits the cache.
std::string cacheKey(const RawSource& source, const config::DataConfig& config) {
  core::Hasher hasher;
  hashBlob(hasher, settingsOf(source.reader, source.coverage(), config));
  if (source.folder) {
    hasher.update(static_cast<std::uint64_t>(source.folder->images.size()));
    for (const RawImage& image : source.folder->images) {
      hashBlob(hasher, image.relative_path);
      hashBlob(hasher, image.bytes);
    }
  } else {
    hashBlob(hasher, fs::path(source.csv->path).filename().string());
    hashBlob(hasher, source.csv->text);
  }
  return hasher.hex();
}

Dataset decodeSource(const RawSource& source, const config::DataConfig& config) {
  Dataset dataset = source.folder ? decodeImageFolder(*source.folder, config.image_size)
                                  : decodeChallengeCsv(*source.csv, config.image_size);
  carveMissingSplits(dataset, source.coverage(), config.val_fraction, config.test_fraction,
                     config.split_seed);
  if (config.align == config::Align::Eyes) {
    const AlignmentCounts counts = alignDataset(dataset, config);
    log::info("face alignment: {} aligned, {} face only, {} no face of {} images", counts.aligned,
              counts.face_only, counts.none, dataset.size());
  }
  return dataset;
}

std::optional<Dataset> readMatchingCache(const std::string& path, const std::string& key,
                                         int imageSize) {
  std::optional<Dataset> cached = readDatasetCache(path);
  if (cached && (cached->key != key || cached->image_size != imageSize)) {
    log::warn("{}: cache file holds key {} at {} px, expected {} at {} px; decoding again", path,
              cached->key, cached->image_size, key, imageSize);
    cached.reset();
  }
  return cached;
}

// The dataset is already decoded and correct, so a cache that cannot be written (read-only
// results folder, full disk) costs the next run time, not this run its data.
void writeCacheOrWarn(const Dataset& dataset, const std::string& path) {
  try {
    writeDatasetCache(dataset, path);
  } catch (const DataError& error) {
    log::warn("dataset cache not written: {}", error.what());
  }
}

void logCarvedSplits(const SplitCoverage& coverage, const config::DataConfig& config) {
  if (!coverage.has_val) {
    log::info(
        "dataset: no official validation split; carved {:g}% of Training (stratified, "
        "seed {})",
        config.val_fraction * 100.0, config.split_seed);
  }
  if (!coverage.has_test) {
    log::info("dataset: no official test split; carved {:g}% of Training (stratified, seed {})",
              config.test_fraction * 100.0, config.split_seed);
  }
}

std::string splitSizes(const Dataset& dataset) {
  return fmt::format("{}/{}/{}", dataset.indicesOf(Split::Train).size(),
                     dataset.indicesOf(Split::Val).size(), dataset.indicesOf(Split::Test).size());
}

}  // namespace

void writeDatasetCache(const Dataset& dataset, const std::string& path) {
  checkWritable(dataset, path);
  const fs::path target(path);
  std::error_code error;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), error);
  if (error) {
    throw DataError(fmt::format("{}: cannot create folder: {}", target.parent_path().string(),
                                error.message()));
  }
  // A per-process temporary name: concurrent runs decoding the same data each write their
  // own file, and rename() makes whichever finishes last the complete entry.
  const std::string temporary = fmt::format("{}.tmp.{}", path, ::getpid());
  bool written = false;
  int write_errno = 0;  // why the stream failed (ENOSPC on a full disk), read right after it
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (out) {
      CacheWriter writer(out);
      writeBody(dataset, writer);
      writer.u64(writer.checksum());
      out.flush();
    }
    written = static_cast<bool>(out);
    if (!written) write_errno = errno;
  }
  if (written) fs::rename(temporary, target, error);
  if (!written || error) {
    const std::string reason = written ? error.message() : std::strerror(write_errno);
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw DataError(fmt::format("{}: cannot write dataset cache: {}", path, reason));
  }
}

std::optional<Dataset> readDatasetCache(const std::string& path) {
  std::error_code error;
  const std::uintmax_t size = fs::file_size(path, error);
  if (error) {
    if (fs::exists(path, error)) log::warn("{}: cannot read dataset cache; ignoring it", path);
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    log::warn("{}: cannot open dataset cache; ignoring it", path);
    return std::nullopt;
  }
  try {
    CacheReader reader(in, size);
    return readBody(reader);
  } catch (const CorruptCache& corrupt) {
    log::warn("{}: corrupt dataset cache ({}); ignoring it", path, corrupt.reason);
    return std::nullopt;
  } catch (const std::bad_alloc&) {
    log::warn("{}: corrupt dataset cache (sizes too large); ignoring it", path);
    return std::nullopt;
  }
}

Dataset loadDataset(const config::DataConfig& config, LoadInfo* info) {
  const core::Stopwatch stopwatch;
  std::optional<RawSource> source = scanSource(config);
  const std::string key = cacheKey(*source, config);
  const SplitCoverage coverage = source->coverage();
  const std::string cachePath =
      config.cache_dir.empty() ? "" : (fs::path(config.cache_dir) / (key + ".fercache")).string();

  std::optional<Dataset> dataset;
  if (!cachePath.empty()) dataset = readMatchingCache(cachePath, key, config.image_size);
  const bool fromCache = dataset.has_value();
  if (!fromCache) {
    dataset = decodeSource(*source, config);
    dataset->key = key;
    if (!cachePath.empty()) writeCacheOrWarn(*dataset, cachePath);
  }
  source.reset();  // the encoded bytes (66 MB for FER2013) are not needed any more

  logCarvedSplits(coverage, config);
  log::info("dataset: {} images ({}) {} {} in {:.2f} s", dataset->size(), splitSizes(*dataset),
            fromCache ? "from cache" : "decoded from", fromCache ? cachePath : config.path,
            stopwatch.seconds());
  // After the cache, so every subset of one source shares one cache entry.
  if (config.subset != 1.0 || config.subset_is_count || config.eval_subset != 1.0) {
    dataset = applySubset(*dataset, config.subset, config.subset_is_count, config.eval_subset,
                          config.split_seed);
    log::info("dataset: data.subset {} / data.eval_subset {} keep {} images ({})", config.subset,
              config.eval_subset, dataset->size(), splitSizes(*dataset));
    if (config.eval_subset != 1.0) {
      log::warn(
          "data.eval_subset = {}: PublicTest and PrivateTest are thinned; the numbers are "
          "for smoke tests and do not compare with published ones",
          config.eval_subset);
    }
  }
  if (info != nullptr) {
    info->from_cache = fromCache;
    info->cache_path = cachePath;
    info->seconds = stopwatch.seconds();
  }
  return std::move(*dataset);
}

}  // namespace ferlab::data
