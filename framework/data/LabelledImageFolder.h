#pragma once
// A dataset laid out as one folder per class, `<root>/<class>/<image>`, whose class names are
// the dataset's own ("anger", "contempt", "Happy"): the layout lab-posed FER datasets (CK+,
// JAFFE, KDEF) are usually rearranged into, and what `ferlab evaluate` reads. Unlike
// readImageFolder (Fer2013Reader.h), any class name is accepted here; ClassMap.h says what
// each class means to a model. Only the listing is done here: the files are read, hashed and
// decoded by the caller (CrossDataset.h), one at a time.

#include <string>
#include <vector>

namespace ferlab::data {

/// One image file of a labelled image folder.
struct LabelledImageFile {
  std::string relative_path;  ///< '/'-separated from the root: "anger/S005_001.png"
  std::string class_name;     ///< the name of its class folder, as spelt on disk
};

struct LabelledImageFolder {
  std::string root;
  /// Class folders holding at least one image, sorted by name (byte order).
  std::vector<std::string> class_names;
  /// Every image, sorted by relative_path (byte order), so the listing and anything hashed
  /// from it are the same on every machine whatever order the filesystem lists entries in.
  std::vector<LabelledImageFile> files;
};

/// Lists `<root>/<class>/<image>`: images are .jpg .jpeg .png .bmp (any letter case); hidden
/// entries (a leading '.') and other files are skipped; class folders without images are
/// left out. Throws DataError naming the path: `root` missing or not a folder, an image
/// directly in `root` (not in a class folder), a folder inside a class folder, a folder that
/// cannot be listed, or no image at all.
LabelledImageFolder listLabelledImageFolder(const std::string& root);

}  // namespace ferlab::data
