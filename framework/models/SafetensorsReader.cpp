#include "framework/models/SafetensorsReader.h"

#include <fstream>
#include <optional>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "framework/core/Errors.h"

namespace ferlab::models::detail {
namespace {

// ---------------------------------------------------------------------------------------
// safetensors (https://github.com/huggingface/safetensors, "Format").

std::optional<torch::Dtype> safetensorsDtype(const std::string& name) {
  static const std::unordered_map<std::string, torch::Dtype> dtypes = {
      {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
      {"F64", torch::kFloat64}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
      {"I16", torch::kInt16},   {"I8", torch::kInt8},     {"U8", torch::kUInt8},
      {"BOOL", torch::kBool}};
  const auto found = dtypes.find(name);
  if (found == dtypes.end()) return std::nullopt;
  return found->second;
}

// The safetensors library refuses headers above 100 MB; so does FERLab, before allocating.
constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;

std::uint64_t readLittleEndian64(const char* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
  return value;
}

struct SafetensorsEntry {
  torch::Dtype dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // bytes, relative to the data section
};

SafetensorsEntry parseSafetensorsEntry(const std::string& path, const std::string& name,
                                       const nlohmann::ordered_json& info,
                                       std::uint64_t data_size) {
  const auto bad = [&](const std::string& what) {
    return DataError(fmt::format("{}: safetensors tensor '{}': {}", path, name, what));
  };
  if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
      !info.contains("data_offsets")) {
    throw bad("needs dtype, shape and data_offsets");
  }
  SafetensorsEntry entry{};
  const auto& dtype_name = info["dtype"];
  const auto dtype =
      dtype_name.is_string() ? safetensorsDtype(dtype_name.get<std::string>()) : std::nullopt;
  if (!dtype) throw bad(fmt::format("unsupported dtype {}", dtype_name.dump()));
  entry.dtype = *dtype;
  std::uint64_t numel = 1;
  for (const auto& dim : info["shape"]) {
    if (!dim.is_number_unsigned()) throw bad("shape is not a list of sizes");
    const auto size = dim.get<std::uint64_t>();
    if (size != 0 && numel > data_size / size) throw bad("shape larger than the file");
    numel *= size;
    entry.shape.push_back(static_cast<std::int64_t>(size));
  }
  const auto& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    throw bad("data_offsets is not [begin, end]");
  }
  entry.begin = offsets[0].get<std::uint64_t>();
  entry.end = offsets[1].get<std::uint64_t>();
  if (entry.begin > entry.end || entry.end > data_size) {
    throw bad(fmt::format("data_offsets [{}, {}] outside the {} data bytes (truncated file?)",
                          entry.begin, entry.end, data_size));
  }
  if (entry.end - entry.begin != numel * c10::elementSize(entry.dtype)) {
    throw bad(fmt::format("data_offsets span {} bytes, shape and dtype need {}",
                          entry.end - entry.begin, numel * c10::elementSize(entry.dtype)));
  }
  return entry;
}

}  // namespace

StateDict readSafetensors(const std::string& path, std::uint64_t file_size) {
  std::ifstream file(path, std::ios::binary);
  char length_bytes[8];
  if (!file.read(length_bytes, 8)) throw DataError(fmt::format("{}: unreadable", path));
  const std::uint64_t header_size = readLittleEndian64(length_bytes);
  if (header_size > kMaxSafetensorsHeader || header_size > file_size - 8) {
    throw DataError(fmt::format("{}: safetensors header of {} bytes does not fit the {}-byte file",
                                path, header_size, file_size));
  }
  std::string header(header_size, '\0');
  if (!file.read(header.data(), static_cast<std::streamsize>(header_size))) {
    throw DataError(fmt::format("{}: unreadable safetensors header", path));
  }
  const auto json = nlohmann::ordered_json::parse(header, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    throw DataError(fmt::format("{}: safetensors header is not a JSON object", path));
  }
  const std::uint64_t data_start = 8 + header_size;
  StateDict weights;
  for (const auto& [name, info] : json.items()) {
    if (name == "__metadata__") continue;
    const auto entry = parseSafetensorsEntry(path, name, info, file_size - data_start);
    // Bools are read as bytes and compared with 0: a stray byte must not make an invalid bool.
    const auto read_dtype = entry.dtype == torch::kBool ? torch::kUInt8 : entry.dtype;
    auto tensor = torch::empty(entry.shape, torch::TensorOptions().dtype(read_dtype));
    file.seekg(static_cast<std::streamoff>(data_start + entry.begin));
    if (!file.read(static_cast<char*>(tensor.data_ptr()),
                   static_cast<std::streamsize>(entry.end - entry.begin))) {
      throw DataError(fmt::format("{}: safetensors tensor '{}': read failed", path, name));
    }
    weights.emplace_back(name, entry.dtype == torch::kBool ? tensor.ne(0) : tensor);
  }
  return weights;
}

}  // namespace ferlab::models::detail
