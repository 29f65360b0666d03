// libFuzzer harness: the FER2013 challenge CSV reader (data/Fer2013Reader.h), whole-file
// reading (scan + decode) and the line lookup the report's gallery uses. The input is the
// CSV file. Bad input must end in DataError; anything else is a finding.

#include <cstddef>
#include <cstdint>
#include <string>

#include "framework/core/Errors.h"
#include "framework/data/Fer2013Reader.h"
#include "tests/fuzz/FuzzInput.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ferlab::fuzz::writeTemp("fer2013.csv", data, size);
  // 4 x 4 images keep a valid row short; the reader checks the pixel count against it.
  constexpr int kImageSize = 4;
  try {
    ferlab::data::SplitCoverage coverage;
    ferlab::data::readChallengeCsv(path, kImageSize, &coverage);
  } catch (const ferlab::DataError&) {
  }
  try {
    ferlab::data::readChallengeCsvLines(path, {1, 2, 3, 5}, kImageSize);
  } catch (const ferlab::DataError&) {
  }
  return 0;
}
