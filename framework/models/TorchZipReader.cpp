#include "framework/models/TorchZipReader.h"

#include <cstdint>
#include <cstring>

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/models/PickleReader.h"

namespace ferlab::models::detail {
namespace {

// ---------------------------------------------------------------------------------------
// From the unpickled object to a StateDict.

const Value* findEntry(const Value& dict, const std::string& key) {
  for (const auto& [entry_key, value] : dict.entries) {
    if (entry_key->kind == Value::Kind::String && entry_key->text == key) return value.get();
  }
  return nullptr;
}

// The state dict itself, or the one a training checkpoint wraps (documented in the header).
const Value& selectStateDict(const Value& root, const std::string& path) {
  if (root.kind != Value::Kind::Dict) {
    throw DataError(fmt::format("{}: holds a {}, not a dict of tensors", path, describe(root)));
  }
  for (const char* wrapper : {"state_dict", "model"}) {
    const Value* inner = findEntry(root, wrapper);
    if (inner != nullptr && inner->kind == Value::Kind::Dict) return *inner;
  }
  return root;
}

StateDict toStateDict(const Value& dict, const std::string& path) {
  StateDict weights;
  for (const auto& [key, value] : dict.entries) {
    if (key->kind != Value::Kind::String) {
      throw DataError(
          fmt::format("{}: a key of the state dict is a {}, not a name", path, describe(*key)));
    }
    if (value->kind != Value::Kind::Tensor) {
      throw DataError(fmt::format(
          "{}: entry '{}' is a {}, not a tensor (FERLab reads a dict of tensors, or the one "
          "under a checkpoint's 'state_dict' or 'model' key)",
          path, key->text, describe(*value)));
    }
    weights.emplace_back(key->text, value->tensor);
  }
  return weights;
}

// ---------------------------------------------------------------------------------------
// PyTorch zip archives.

std::string recordText(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  const auto [data, size] = reader.getRecord(name);
  return std::string(static_cast<const char*>(data.get()), size);
}

torch::Tensor loadStorage(caffe2::serialize::PyTorchStreamReader& reader, const std::string& path,
                          const std::string& key, torch::Dtype dtype, std::int64_t numel) {
  const std::string name = "data/" + key;
  if (!reader.hasRecord(name)) throw DataError(fmt::format("{}: no storage record {}", path, name));
  const auto [data, size] = reader.getRecord(name);
  const std::size_t element_size = c10::elementSize(dtype);
  if (numel < 0 || static_cast<std::size_t>(numel) > size / element_size) {
    throw DataError(fmt::format("{}: storage {} holds {} bytes, fewer than {} x {}", path, name,
                                size, numel, element_size));
  }
  auto storage = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
  // An empty storage (a tensor with a zero dimension) has a null data_ptr(), and memcpy from or
  // to null is undefined even for 0 bytes (UBSan's nonnull-attribute check).
  if (numel > 0) {
    std::memcpy(storage.data_ptr(), data.get(), static_cast<std::size_t>(numel) * element_size);
  }
  return storage;
}

}  // namespace

StateDict readTorchZip(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (reader.hasRecord("constants.pkl")) {
      throw DataError(
          fmt::format("{}: a TorchScript archive (torch.jit.save), not a state dict; save "
                      "model.state_dict() with torch.save instead",
                      path));
    }
    if (!reader.hasRecord("data.pkl")) {
      throw DataError(fmt::format("{}: zip archive without data.pkl: not a torch.save file", path));
    }
    if (reader.hasRecord("byteorder") && recordText(reader, "byteorder") != "little") {
      throw DataError(fmt::format("{}: big-endian archive, FERLab reads little-endian ones", path));
    }
    const std::string pickle = recordText(reader, "data.pkl");
    const auto root =
        readPickle(pickle, path + ": data.pkl",
                   [&](const std::string& key, torch::Dtype dtype, std::int64_t numel) {
                     return loadStorage(reader, path, key, dtype, numel);
                   });
    return toStateDict(selectStateDict(*root, path), path);
  } catch (const c10::Error& error) {
    // Corrupt or truncated zip (bad central directory, CRC mismatch): miniz via LibTorch.
    throw DataError(
        fmt::format("{}: unreadable PyTorch archive: {}", path, error.what_without_backtrace()));
  }
}

}  // namespace ferlab::models::detail
