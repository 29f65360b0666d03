// libFuzzer harness: pretrained weight files (models/WeightFile.h): the PyTorch zip reader
// with its pickle reader, and the safetensors reader, then copying what was read into a small
// module as transfer learning does (not strict). The input is the weight file. Bad input
// must end in DataError; anything else is a finding.

#include <cstddef>
#include <cstdint>
#include <string>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "framework/core/Errors.h"
#include "framework/models/WeightFile.h"
#include "tests/fuzz/FuzzInput.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Names as torchvision writes them: "0.weight", "1.running_mean", "2.bias", ...
  static torch::nn::Sequential model(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 3)),
                                     torch::nn::BatchNorm2d(2), torch::nn::Linear(4, 3));
  const std::string path = ferlab::fuzz::writeTemp("weights.bin", data, size);
  try {
    const auto weights = ferlab::models::readWeightFile(path);
    ferlab::models::loadStateDict(*model, weights, /*strict=*/false);
  } catch (const ferlab::DataError&) {
  }
  return 0;
}
