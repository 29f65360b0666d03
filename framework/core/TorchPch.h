#pragma once
// Precompiled header for the LibTorch-facing targets: only the parts of LibTorch FERLab
// uses (nn, optim, serialisation), not the whole <torch/torch.h> umbrella.
#include <torch/nn.h>
#include <torch/optim.h>
#include <torch/serialize.h>
#include <torch/types.h>
#include <torch/utils.h>
