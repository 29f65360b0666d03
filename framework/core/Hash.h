#pragma once
// Stable, platform-independent 64-bit hashing for config hashes and dataset cache keys.
// Method: FNV-1a 64 (Fowler, Noll, Vo; http://www.isthe.com/chongo/tech/comp/fnv/). Not
// cryptographic: it only has to change when the hashed bytes change, the same on every
// machine and in every run.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferlab::core {

/// Incremental FNV-1a 64 hasher. Feed bytes in any number of calls; digest() does not reset.
class Hasher {
 public:
  Hasher& update(const void* data, std::size_t size);
  Hasher& update(std::string_view text) { return update(text.data(), text.size()); }
  /// Hashes the value's 8 little-endian bytes, so the digest does not depend on host order.
  Hasher& update(std::uint64_t value);
  std::uint64_t digest() const { return state_; }
  /// digest() as 16 lower-case hex digits.
  std::string hex() const;

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

/// One-shot FNV-1a 64 of `text` as 16 hex digits.
std::string hashHex(std::string_view text);

/// FNV-1a 64 of the file's bytes as 16 hex digits (read in 1 MiB blocks). Throws
/// std::runtime_error naming `path` when it cannot be read.
std::string fileHashHex(const std::string& path);

}  // namespace ferlab::core
