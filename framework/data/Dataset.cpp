#include "framework/data/Dataset.h"

namespace ferlab::data {

const char* splitName(Split split) {
  switch (split) {
    case Split::Train:
      return "Training";
    case Split::Val:
      return "PublicTest";
    case Split::Test:
      return "PrivateTest";
  }
  return "unknown";
}

const std::vector<std::string>& fer2013ClassNames() {
  // The challenge CSV's label order, which every published FER2013 result reports against;
  // the image-folder layout's alphabetical folder order is mapped onto it by the reader.
  static const std::vector<std::string> names = {"angry", "disgust",  "fear",   "happy",
                                                 "sad",   "surprise", "neutral"};
  return names;
}

std::vector<std::size_t> Dataset::indicesOf(Split split) const {
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < splits.size(); ++i) {
    if (splits[i] == split) indices.push_back(i);
  }
  return indices;
}

std::vector<std::int64_t> Dataset::classCounts(Split split) const {
  std::vector<std::int64_t> counts(class_names.size(), 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::int64_t label = labels[i];
    // A label outside the class list is a corrupt dataset; counting it nowhere keeps this
    // accessor total (readers and the cache validate labels before they get here).
    if (splits[i] == split && label >= 0 && label < static_cast<std::int64_t>(counts.size())) {
      ++counts[static_cast<std::size_t>(label)];
    }
  }
  return counts;
}

}  // namespace ferlab::data
