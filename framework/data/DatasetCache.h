#pragma once
// Decode once, reuse everywhere: the decoded dataset is cached on disk as one binary file
// named by its key, so a grid of 20 runs (or 20 processes) decodes the images once.
// The key hashes the source's file names and bytes and every preprocessing setting, so
// changing the data or the settings misses the cache. Files are written to a temporary
// name and renamed, so a crash never leaves a partial cache entry.

#include <optional>
#include <string>

#include "framework/config/RunConfig.h"
#include "framework/data/Dataset.h"

namespace ferlab::data {

/// Writes `dataset` to `path` atomically (temp file + rename). Throws DataError naming `path`
/// and the reason (e.g. "No space left on device"); no partial file is left behind.
void writeDatasetCache(const Dataset& dataset, const std::string& path);

/// Reads a cache file; std::nullopt when it does not exist. A corrupt or truncated file is
/// treated as a miss (and reported by a warning), never as data.
std::optional<Dataset> readDatasetCache(const std::string& path);

/// How loadDataset got its data, recorded with the run.
struct LoadInfo {
  bool from_cache = false;
  std::string cache_path;
  double seconds = 0.0;  ///< wall time of loadDataset
};

/// The data stage of the pipeline: reads `config.path` (folder or CSV, by `format` or by
/// extension when "auto"), computes the key, reuses or writes the cache in
/// `config.cache_dir` (an empty cache_dir reads and writes no cache), carves missing splits,
/// aligns every image when data.align = "eyes" (FaceAligner.h, all cores; the alignment
/// settings and cascade files are part of the key, the outcome counts are cached with the
/// data in Dataset::alignment) and applies `subset` (seeded with split_seed, after the
/// cache, so subsets share one cache entry). A cache that cannot be written is a warning,
/// not an error. Throws DataError.
Dataset loadDataset(const config::DataConfig& config, LoadInfo* info = nullptr);

}  // namespace ferlab::data
