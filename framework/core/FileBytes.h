#pragma once
// Whole-file reads: image files, CSVs and run archives are read into memory at once, as bytes
// (binary mode, no newline translation), then decoded by OpenCV, the CSV parser or zlib.

#include <filesystem>
#include <string>

namespace ferlab::core {

/// The bytes of the file at `path`. Throws DataError "<path>: cannot open file" (missing,
/// unreadable, a directory) or "<path>: cannot read file" (an error while reading).
std::string readFileBytes(const std::filesystem::path& path);

}  // namespace ferlab::core
