#pragma once
// Internal to the weight-file readers (WeightFile.h): the values a pickle holds and a strict
// reader of the pickle opcodes torch.save emits, which interprets the stream as data and
// never instantiates a class.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace ferlab::models::detail {

// ---------------------------------------------------------------------------------------
// Pickle values. Only what a state dict or a checkpoint around one can hold; objects of any
// other class become Opaque (their constructor is never run), which is an error only when one
// ends up where a tensor is expected.

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind {
    None,
    Bool,
    Int,
    Float,
    String,
    Tuple,
    List,
    Dict,
    Global,
    Storage,
    Tensor,
    Opaque
  };
  Kind kind = Kind::None;
  std::int64_t integer = 0;                            // Bool, Int
  double real = 0.0;                                   // Float
  std::string text;                                    // String; Global/Opaque: "module.name"
  std::vector<ValuePtr> items;                         // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // Dict, in insertion order
  torch::Tensor tensor;                                // Storage (1-D), Tensor
};

/// "dict", "tensor", "object" ...: the Python name of a value's kind, for error messages.
const char* kindName(Value::Kind kind);

/// "dict", "tensor", or "object (module.name)" for a class instance: for error messages.
std::string describe(const Value& value);

/// Returns storage `key` as a 1-D tensor of `numel` elements of `dtype`.
using StorageLoader =
    std::function<torch::Tensor(const std::string& key, torch::Dtype dtype, std::int64_t numel)>;

/// Unpickles `bytes` (protocols 2 to 4, the opcodes torch.save emits) into one Value; tensor
/// storages come from `load_storage`. Throws DataError "<where>, byte <n>: <fault>" on an
/// unsupported opcode or storage type, a malformed or truncated stream, or a tensor view
/// outside its storage.
ValuePtr readPickle(const std::string& bytes, std::string where, StorageLoader load_storage);

}  // namespace ferlab::models::detail
