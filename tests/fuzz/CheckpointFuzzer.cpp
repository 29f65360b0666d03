// libFuzzer harness: checkpoint files (train/Checkpoints.h) as a resumed or evaluated run
// reads them: the owner recorded in last.pt (readOwner), and a model's weights from best.pt
// (loadModelCheckpoint). The input is the checkpoint file (LibTorch's zip archive). Bad input
// must end in TrainError; anything else is a finding.

#include <cstddef>
#include <cstdint>
#include <string>

#include "framework/core/Errors.h"
#include "framework/train/Checkpoints.h"
#include "tests/fuzz/CheckpointSeedModel.h"
#include "tests/fuzz/FuzzInput.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static torch::nn::Sequential model = ferlab::fuzz::checkpointSeedModel();
  const std::string path = ferlab::fuzz::writeTemp("checkpoint.pt", data, size);
  try {
    ferlab::train::readOwner(path);
  } catch (const ferlab::TrainError&) {
  }
  try {
    ferlab::train::loadModelCheckpoint(*model, path, torch::kCPU);
  } catch (const ferlab::TrainError&) {
  }
  return 0;
}
