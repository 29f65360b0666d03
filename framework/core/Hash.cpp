#include "framework/core/Hash.h"

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

std::string hashHex(std::string_view text) {
  return Hasher().update(text).hex();
}

}  // namespace ferlab::core
