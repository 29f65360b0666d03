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

#include <string>

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
/// test split, validation to be carved) or root/<class>/<file> (everything Training).
/// Class folders must be FER2013 class names. Files are visited in sorted path order, so
/// the result is the same on every machine. Throws DataError.
Dataset readImageFolder(const std::string& root, int image_size, SplitCoverage* coverage);

/// Reads the challenge CSV at `path` (header line required; columns may come in any order;
/// Usage optional: without it every row is Training). Throws DataError naming path:line.
Dataset readChallengeCsv(const std::string& path, int image_size, SplitCoverage* coverage);

/// OpenCV's version string (cv::getVersionString()), recorded with every run.
std::string opencvVersion();

}  // namespace ferlab::data
