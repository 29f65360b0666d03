#pragma once
// Whole-file writes that never leave a partial file: the text goes to "<path>.tmp", is flushed
// and checked, then renamed over `path` (rename is atomic on POSIX filesystems).

#include <string>

namespace ferlab::core {

/// Writes `text` to `path` atomically. Throws ferlab::Error naming the path and the reason
/// (cannot create, disk full, cannot rename); the temporary file is removed on failure.
void writeFileAtomically(const std::string& path, const std::string& text);

}  // namespace ferlab::core
