#pragma once
// gzip (RFC 1952) in memory through zlib: run archives are JSON compressed this way, so
// `gunzip -c` or Python's gzip module read them too.

#include <string>
#include <string_view>

namespace ferlab::core {

/// The gzip stream of `bytes` (zlib, default compression level).
std::string gzipCompress(std::string_view bytes);

/// The bytes inside the gzip stream `data`. Throws DataError "<origin>: ..." when `data` is
/// not gzip or is truncated or corrupt.
std::string gzipDecompress(std::string_view data, const std::string& origin);

}  // namespace ferlab::core
