#pragma once
// Another dataset, read for a cross-dataset evaluation (`ferlab evaluate`): listed, mapped to
// the model's classes (ClassMap.h), hashed, and prepared the way the run's training data was
// (ImagePreparer.h). Three layouts:
//   - folder:  `<root>/<class>/<image>` with the dataset's own class names
//              (LabelledImageFolder.h); every image is evaluated;
//   - fer2013: FER2013's image-folder layout (`train/`, `test/`; Fer2013Reader.h), of which
//              only `test/` is read: its PublicTest_ and PrivateTest_ files together (7,178
//              images on FER2013). For a run trained on another dataset neither split was
//              seen, and `train/` is training data, so all of test/ is the largest held-out
//              sample. (A run trained on this very dataset selected its checkpoint on
//              PublicTest; train/CrossDatasetEvaluation.h refuses that case.)
//   - csv:     the FER2013 challenge CSV (`emotion,pixels,Usage`, Fer2013Reader.h): its
//              PublicTest and PrivateTest rows when it has any, for the same reason, else
//              every row (a CSV without Usage, or one that marks every row Training); labels
//              are FER2013's indices, so its classes are FER2013's names; every row's square
//              side comes from its pixel count (48 x 48 for FER2013).
// The content hash identifies what was read, whatever the class map: FNV-1a 64
// (core/Hash.h) over every image file's relative path and bytes in sorted path order, dropped
// classes included (folder, fer2013), or the CSV's file name and bytes.

#include <cstdint>
#include <string>
#include <vector>

#include "framework/config/RunConfig.h"
#include "framework/data/ClassMap.h"
#include "framework/data/Dataset.h"

namespace ferlab::data {

/// `ferlab evaluate --format`.
enum class CrossDatasetFormat { Auto, Folder, Fer2013, Csv };
/// "auto" | "folder" | "fer2013" | "csv".
const char* crossDatasetFormatName(CrossDatasetFormat format);
/// The inverse of crossDatasetFormatName. Throws UsageError naming the value and the choices.
CrossDatasetFormat parseCrossDatasetFormat(const std::string& name);

struct CrossDatasetOptions {
  std::string path;  ///< dataset folder or CSV file
  /// Auto: a file ending in .csv is Csv; a folder whose subfolders are train/ and test/ (test/
  /// present) is Fer2013; any other folder is Folder.
  CrossDatasetFormat format = CrossDatasetFormat::Auto;
  std::vector<ClassMapRule> rules;  ///< the class map (ClassMap.h)
  int threads = 0;                  ///< preparation workers; 0 = hardware concurrency
};

/// A dataset read, mapped and prepared for one run.
struct CrossDataset {
  std::string path;  ///< as given
  /// The dataset's name: its folder's name, or the CSV's file name without ".csv".
  std::string name;
  CrossDatasetFormat format = CrossDatasetFormat::Folder;  ///< resolved: never Auto
  std::string content_hash;                                ///< 16 hex digits (see above)
  ClassMapping mapping;
  std::int64_t dropped_images = 0;  ///< images of dropped classes: hashed, not evaluated
  /// The images evaluated, in sorted path (or CSV line) order, prepared for the run:
  /// pixels N x 1 x S x S uint8 (S = the run's data.image_size), labels = model class
  /// indices, class_names = the model's classes, splits all Test, sample_ids = paths relative
  /// to the dataset root ("anger/S005_001.png", "test/happy/PrivateTest_1.jpg") or
  /// "<file>.csv:<line>", alignment = outcome counts when the run aligns (data.align).
  Dataset images;
};

/// Reads `options.path` for a run whose classes are `model_classes` and whose training data
/// was prepared with `preparation` (its data settings). Files are read and hashed one at a
/// time and prepared on `options.threads` workers (each with its own ImagePreparer).
/// Throws DataError naming the path (missing dataset, bad layout, an unknown class, an
/// unreadable or undecodable image file, a malformed CSV row at FILE:LINE, no image left
/// after dropping classes), ConfigError (class-map values that are no model class), UsageError
/// (a format that does not fit the path).
CrossDataset readCrossDataset(const CrossDatasetOptions& options,
                              const std::vector<std::string>& model_classes,
                              const config::DataConfig& preparation);

}  // namespace ferlab::data
