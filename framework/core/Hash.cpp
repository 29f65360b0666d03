#include "framework/core/Hash.h"

#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace ferlab::core {

Hasher& Hasher::update(const void* data, std::size_t size) {
  constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::uint64_t state = state_;
  for (std::size_t i = 0; i < size; ++i) {
    state ^= bytes[i];
    state *= kPrime;
  }
  state_ = state;
  return *this;
}

Hasher& Hasher::update(std::uint64_t value) {
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
  return update(bytes, sizeof bytes);
}

std::string Hasher::hex() const {
  return fmt::format("{:016x}", state_);
}

std::string fileHashHex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read the file to hash it");
  Hasher hasher;
  std::vector<char> block(1 << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    hasher.update(block.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw std::runtime_error(path + ": read error while hashing");
  return hasher.hex();
}

std::string hashHex(std::string_view text) {
  return Hasher().update(text).hex();
}

}  // namespace ferlab::core
