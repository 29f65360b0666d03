#pragma once
// Internal to WeightFile.cpp: the safetensors reader (huggingface/safetensors, "Format").

#include <cstdint>
#include <string>

#include "framework/models/WeightFile.h"

namespace ferlab::models::detail {

/// The tensors of the safetensors file at `path`, `file_size` bytes long, in header order.
/// Throws DataError naming `path` and the tensor at fault.
StateDict readSafetensors(const std::string& path, std::uint64_t file_size);

}  // namespace ferlab::models::detail
