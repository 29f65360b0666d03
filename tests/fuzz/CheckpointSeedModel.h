#pragma once
// The tiny model of the checkpoint harness (CheckpointFuzzer.cpp) and of its seeds
// (MakeFuzzSeeds.cpp): a few parameters and buffers, so a checkpoint is a few KB.

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

namespace ferlab::fuzz {

inline torch::nn::Sequential checkpointSeedModel() {
  return torch::nn::Sequential(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
}

}  // namespace ferlab::fuzz
