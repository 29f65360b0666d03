#pragma once
// Internal to WeightFile.cpp: the PyTorch zip archive reader (torch.save, PyTorch >= 1.6).

#include <string>

#include "framework/models/WeightFile.h"

namespace ferlab::models::detail {

/// The state dict in the archive at `path` (readWeightFile documents what is accepted).
/// Throws DataError naming `path`.
StateDict readTorchZip(const std::string& path);

}  // namespace ferlab::models::detail
