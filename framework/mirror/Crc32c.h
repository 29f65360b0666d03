#pragma once
// CRC-32C (Castagnoli) and the masked form TFRecord framing stores.
//
// Source: the polynomial is iSCSI's, RFC 3720 section 12.1 (0x1EDC6F41, bit-reflected
// 0x82F63B78; check value of "123456789" is 0xE3069283); the mask is TensorFlow's
// tensorflow/core/lib/hash/crc32c.h `Mask` (rotate right by 15 bits, add 0xa282ead8), which
// TFRecord files and TensorBoard's reader (tensorboard/compat/tensorflow_stub/pywrap_tensorflow.py)
// apply to every length and payload checksum. Debian 12 ships no C/C++ CRC-32C library
// (only python3-crc32c), so this is a small table-driven implementation.

#include <cstddef>
#include <cstdint>

namespace ferlab::mirror {

/// CRC-32C of `size` bytes at `data` (initial value and final XOR 0xFFFFFFFF, as RFC 3720).
std::uint32_t crc32c(const void* data, std::size_t size);

/// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8, modulo 2^32.
std::uint32_t maskCrc(std::uint32_t crc);

/// maskCrc(crc32c(data, size)).
std::uint32_t maskedCrc32c(const void* data, std::size_t size);

}  // namespace ferlab::mirror
