// libFuzzer harness: decoding image files (JPEG, PNG, BMP, PGM, ...) the two ways FERLab does:
// the FER2013 image-folder reader (data/Fer2013Reader.h: decodeImageFolder, exact size) and
// cross-dataset evaluation (data/ImagePreparer.h: decodeGreyImage, then resize). The input is
// the encoded file. Bad input must end in DataError; anything else is a finding.

#include <cstddef>
#include <cstdint>
#include <string>

#include <opencv2/core.hpp>

#include "framework/config/RunConfig.h"
#include "framework/core/Errors.h"
#include "framework/data/Fer2013Reader.h"
#include "framework/data/ImagePreparer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool single_thread = [] {
    cv::setNumThreads(0);  // decode on this thread: a report then shows the faulting frame
    return true;
  }();
  (void)single_thread;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    ferlab::data::RawImageFolder folder;
    folder.root = "fuzz";
    ferlab::data::RawImage image;
    image.relative_path = "train/happy/Training_1.png";
    image.label = 3;
    image.bytes = bytes;
    folder.images.push_back(image);
    ferlab::data::decodeImageFolder(folder, 8);
  } catch (const ferlab::DataError&) {
  }
  try {
    const cv::Mat grey = ferlab::data::decodeGreyImage(bytes, "fuzz.img");
    ferlab::config::DataConfig config;
    config.image_size = 8;
    ferlab::data::ImagePreparer(config).prepare(grey);
  } catch (const ferlab::DataError&) {
  }
  return 0;
}
