#include "framework/core/Base64.h"

#include <array>
#include <cstdint>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::core {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 0..63 for an alphabet character, -1 otherwise.
std::array<int, 256> decodingTable() {
  std::array<int, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  return table;
}

}  // namespace

std::string base64Encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      const auto byte = j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u;
      group = (group << 8) | byte;
    }
    for (std::size_t j = 0; j < 4; ++j) {
      text += j <= n ? kAlphabet[(group >> (18 - 6 * j)) & 0x3f] : '=';
    }
  }
  return text;
}

std::string base64Decode(std::string_view text, const std::string& origin) {
  static const auto table = decodingTable();
  if (text.size() % 4 != 0) {
    throw DataError(
        fmt::format("{}: base64 text of {} characters, not a multiple of 4", origin, text.size()));
  }
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int padding = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      const int value =
          j >= 4 - static_cast<std::size_t>(padding) ? 0 : table[static_cast<unsigned char>(c)];
      if (value < 0) {
        throw DataError(fmt::format("{}: '{}' at offset {} is not base64", origin, c, i + j));
      }
      group = (group << 6) | static_cast<std::uint32_t>(value);
    }
    for (int j = 0; j < 3 - padding; ++j) {
      bytes += static_cast<char>((group >> (16 - 8 * j)) & 0xff);
    }
  }
  return bytes;
}

}  // namespace ferlab::core
