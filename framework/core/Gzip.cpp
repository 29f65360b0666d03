#include "framework/core/Gzip.h"

#include <array>

#include <fmt/format.h>
#include <zlib.h>

#include "framework/core/Errors.h"

namespace ferlab::core {
namespace {

// windowBits 15 + 16: zlib writes and reads the gzip wrapper instead of the zlib one.
constexpr int kGzipWindowBits = 15 + 16;
constexpr std::size_t kChunk = 1 << 16;

}  // namespace

std::string gzipCompress(std::string_view bytes) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error("zlib: deflateInit2 failed");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  std::array<char, kChunk> buffer;
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    status = deflate(&stream, Z_FINISH);
    if (status == Z_STREAM_ERROR) {
      deflateEnd(&stream);
      throw Error("zlib: deflate failed");
    }
    out.append(buffer.data(), buffer.size() - stream.avail_out);
  }
  deflateEnd(&stream);
  return out;
}

std::string gzipDecompress(std::string_view data, const std::string& origin) {
  z_stream stream{};
  if (inflateInit2(&stream, kGzipWindowBits) != Z_OK) throw Error("zlib: inflateInit2 failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  std::array<char, kChunk> buffer;
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    status = inflate(&stream, Z_NO_FLUSH);
    const bool stalled = status == Z_BUF_ERROR && stream.avail_in == 0;
    if ((status != Z_OK && status != Z_STREAM_END) || stalled) {
      const std::string why = stalled ? "truncated" : (stream.msg ? stream.msg : "corrupt");
      inflateEnd(&stream);
      throw DataError(fmt::format("{}: not a valid gzip stream ({})", origin, why));
    }
    out.append(buffer.data(), buffer.size() - stream.avail_out);
  }
  inflateEnd(&stream);
  return out;
}

}  // namespace ferlab::core
