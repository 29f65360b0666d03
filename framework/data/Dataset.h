#pragma once
// The decoded, compact in-memory form of a FER dataset: uint8 pixels, labels and the split
// of every sample. About 83 MB for all of FER2013 (35,887 x 48 x 48 bytes).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ferlab::data {

/// The FER2013 protocol (Goodfellow et al. 2013; ../shared/data/README.md): Training trains,
/// PublicTest selects (validation), PrivateTest is reported (test).
enum class Split : std::uint8_t { Train = 0, Val = 1, Test = 2 };

/// "Training", "PublicTest", "PrivateTest": the names FER2013 itself uses.
const char* splitName(Split split);

/// FER2013 classes in the challenge CSV's label order: 0=angry 1=disgust 2=fear 3=happy
/// 4=sad 5=surprise 6=neutral (lower-case, as the image-folder layout names its folders).
const std::vector<std::string>& fer2013ClassNames();

/// Face-alignment outcomes over a dataset (FaceAligner.h): images aligned on an eye pair,
/// cropped to the face box only, left unaligned (no face). -1 everywhere when data.align is
/// "none".
struct AlignmentCounts {
  std::int64_t aligned = -1, face_only = -1, none = -1;
  bool known() const { return aligned >= 0; }
};

struct Dataset {
  int image_size = 48;                   ///< pixels per side
  std::vector<std::string> class_names;  ///< index = label
  std::vector<std::uint8_t> pixels;      ///< N x 1 x S x S, row-major, 0..255 grey
  std::vector<std::int64_t> labels;      ///< N, in [0, class_names.size())
  std::vector<Split> splits;             ///< N
  /// N stable identifiers for per-sample records: the path relative to the dataset root
  /// ("test/happy/PublicTest_123.jpg") or "fer2013.csv:17" (1-based CSV line).
  std::vector<std::string> sample_ids;
  /// Cache key: hash of the source files' names and bytes plus every preprocessing setting
  /// that changes the decoded result. Empty for datasets built in memory.
  std::string key;
  /// Outcome counts of data.align over all N images (kept by the cache; a subset keeps the
  /// counts of the whole dataset it was drawn from).
  AlignmentCounts alignment;

  std::size_t size() const { return labels.size(); }
  /// Indices of the samples in `split`, ascending.
  std::vector<std::size_t> indicesOf(Split split) const;
  /// Images per class within `split` (size = class_names.size()).
  std::vector<std::int64_t> classCounts(Split split) const;
};

}  // namespace ferlab::data
