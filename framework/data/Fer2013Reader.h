#pragma once
// Readers for the two public distributions of FER2013 (../shared/data/README.md):
//  - the image-folder layout (Kaggle "msambare/fer2013"): train/<class>/*.jpg and
//    test/<class>/*.jpg, official split in the file-name prefix Training_ / PublicTest_ /
//    PrivateTest_;
//  - the challenge CSV `emotion,pixels,Usage` (2304 space-separated grey values per row,
//    row-major; Usage in Training / PublicTest / PrivateTest).
// Images are decoded with OpenCV (cv::imdecode, grey). Every error is a DataError naming
// the file (and CSV line): unreadable image, wrong size, unknown class folder, wrong pixel
// count, bad label, unknown Usage.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/data/Dataset.h"

namespace ferlab::data {

/// What a reader found besides the samples: which official splits the source carries.
/// A split it lacks is carved by Splits.h (seeded, stratified).
struct SplitCoverage {
  bool has_val = false;
  bool has_test = false;
};

/// Reads an image-folder dataset rooted at `root`. Layouts accepted: root/{train,test}/
/// <class>/<file> (split from prefix; without prefixes train/ is Training and test/ is the
/// test split, validation to be carved) or root/<class>/<file> (everything Training). Where
/// file names carry the prefixes, the prefix decides the split in either layout, and every
/// file must carry one. Class folders must be FER2013 class names (any letter case). Files
/// are visited in sorted path order, so the result is the same on every machine. Throws
/// DataError.
Dataset readImageFolder(const std::string& root, int image_size, SplitCoverage* coverage);

/// Reads the challenge CSV at `path` (header line required; columns may come in any order;
/// Usage optional: without it every row is Training). Throws DataError naming path:line.
Dataset readChallengeCsv(const std::string& path, int image_size, SplitCoverage* coverage);

// Two-stage reading, for the cache (DatasetCache.h): scan* reads every source byte once and
// validates the layout without decoding, so the cache key can be computed from those bytes;
// decode* turns the same bytes into a Dataset only on a cache miss. readImageFolder and
// readChallengeCsv are scan + decode.

/// One image file of an image-folder dataset, read but not decoded.
struct RawImage {
  std::string relative_path;  ///< '/'-separated, from the root: "train/happy/Training_1.jpg"
  std::int64_t label = 0;     ///< index into fer2013ClassNames()
  Split split = Split::Train;
  std::string bytes;  ///< the encoded file (JPEG, PNG or BMP)
};

/// An image-folder dataset as read from disk: images sorted by relative_path.
struct RawImageFolder {
  std::string root;
  std::vector<RawImage> images;
  SplitCoverage coverage;
};

/// Lists and reads every image under `root` (.jpg .jpeg .png .bmp; hidden files and other
/// files ignored), checking the layout and class folders. Throws DataError.
RawImageFolder scanImageFolder(const std::string& root);

/// Decodes the images of `folder` (grey, `image_size` x `image_size`). Throws DataError.
Dataset decodeImageFolder(const RawImageFolder& folder, int image_size);

/// One data row of a challenge CSV: everything but the pixels, which stay text until decoded.
struct CsvRow {
  std::size_t line = 0;  ///< 1-based line number in the file (the header is line 1)
  std::int64_t label = 0;
  Split split = Split::Train;
  std::size_t pixels_offset = 0;  ///< the `pixels` field within RawChallengeCsv::text
  std::size_t pixels_length = 0;
};

/// A challenge CSV as read from disk: its full text and the parsed label and Usage of
/// every row.
struct RawChallengeCsv {
  std::string path;
  std::string text;
  std::vector<CsvRow> rows;
  SplitCoverage coverage;
};

/// Reads the CSV at `path` and parses its header, labels and Usage (not the pixels).
/// Throws DataError naming path:line.
RawChallengeCsv scanChallengeCsv(const std::string& path);

/// Parses the pixels of every row of `csv`. Throws DataError naming path:line.
Dataset decodeChallengeCsv(const RawChallengeCsv& csv, int image_size);

/// Decodes only the data rows on the 1-based `lines` of the challenge CSV at `path` (the N of
/// the sample ids "<file>.csv:N" that decodeChallengeCsv gives), for looking up a few stored
/// samples, such as a report's gallery: reading stops after the last line asked for. The
/// result holds the rows found, in file order, with the labels, splits, sample ids and
/// `image_size` x `image_size` pixels readChallengeCsv gives them; a line that is the
/// header, blank or past the end of the file is left out. Throws DataError naming the path
/// (missing file, a folder, missing column) or path:line (a requested row that is malformed).
Dataset readChallengeCsvLines(const std::string& path, const std::vector<std::size_t>& lines,
                              int image_size);

/// OpenCV's version string (cv::getVersionString()), recorded with every run.
std::string opencvVersion();

}  // namespace ferlab::data
