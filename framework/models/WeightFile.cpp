#include "framework/models/WeightFile.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "framework/core/Errors.h"

// Byte order: both formats store little-endian data and FERLab runs on little-endian hosts
// (x86-64, aarch64), so storage bytes are copied as they are.

namespace ferlab::models {
namespace {

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

ValuePtr makeValue(Value::Kind kind) {
  auto value = std::make_shared<Value>();
  value->kind = kind;
  return value;
}

const char* kindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::None:
      return "None";
    case Value::Kind::Bool:
      return "bool";
    case Value::Kind::Int:
      return "int";
    case Value::Kind::Float:
      return "float";
    case Value::Kind::String:
      return "str";
    case Value::Kind::Tuple:
      return "tuple";
    case Value::Kind::List:
      return "list";
    case Value::Kind::Dict:
      return "dict";
    case Value::Kind::Global:
      return "class or function";
    case Value::Kind::Storage:
      return "storage";
    case Value::Kind::Tensor:
      return "tensor";
    case Value::Kind::Opaque:
      return "object";
  }
  return "?";
}

std::string describe(const Value& value) {
  if (value.kind == Value::Kind::Opaque || value.kind == Value::Kind::Global) {
    return fmt::format("{} ({})", kindName(value.kind), value.text);
  }
  return kindName(value.kind);
}

// The pickle opcodes (CPython Lib/pickle.py). The reader implements those torch.save emits
// and the few a checkpoint around a state dict adds; the others are named in errors only.
enum Opcode : std::uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kNone = 'N',
  kBinPersId = 'Q',
  kReduce = 'R',
  kBinString = 'T',
  kShortBinString = 'U',
  kBinUnicode = 'X',
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  kBinFloat = 'G',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kDict = 'd',
  kAppends = 'e',
  kBinGet = 'h',
  kLongBinGet = 'j',
  kList = 'l',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kSetItems = 'u',
  kEmptyTuple = ')',
  kEmptyList = ']',
  kEmptyDict = '}',
  kProto = 0x80,
  kNewObj = 0x81,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kLong4 = 0x8b,
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kBinBytes8 = 0x8e,
  kEmptySet = 0x8f,
  kAddItems = 0x90,
  kFrozenSet = 0x91,
  kNewObjEx = 0x92,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
};

// Python's names of every opcode, for error messages.
const char* opcodeName(std::uint8_t opcode) {
  // clang-format off
  static const std::unordered_map<std::uint8_t, const char*> names = {
      {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"},
      {'F', "FLOAT"}, {'I', "INT"}, {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"},
      {'M', "BININT2"}, {'N', "NONE"}, {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"},
      {'S', "STRING"}, {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"},
      {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"},
      {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"}, {'i', "INST"},
      {'j', "LONG_BINGET"}, {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"},
      {'q', "BINPUT"}, {'r', "LONG_BINPUT"}, {'s', "SETITEM"}, {'t', "TUPLE"},
      {')', "EMPTY_TUPLE"}, {'u', "SETITEMS"}, {'G', "BINFLOAT"}, {'B', "BINBYTES"},
      {'C', "SHORT_BINBYTES"}, {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"},
      {0x83, "EXT2"}, {0x84, "EXT4"}, {0x85, "TUPLE1"}, {0x86, "TUPLE2"}, {0x87, "TUPLE3"},
      {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"},
      {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"},
      {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"},
      {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"}, {0x96, "BYTEARRAY8"},
      {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"}};
  // clang-format on
  const auto found = names.find(opcode);
  return found == names.end() ? "?" : found->second;
}

// "PUT (0x70)", or "0x00" for a byte that is no opcode at all.
std::string opcodeText(std::uint8_t opcode) {
  const std::string name = opcodeName(opcode);
  return name == "?" ? fmt::format("0x{:02x}", opcode) : fmt::format("{} (0x{:02x})", name, opcode);
}

// The element types of `torch.<Name>Storage`, the storage classes torch.save names.
std::optional<torch::Dtype> storageDtype(const std::string& global) {
  static const std::unordered_map<std::string, torch::Dtype> dtypes = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  const auto found = dtypes.find(global);
  if (found == dtypes.end()) return std::nullopt;
  return found->second;
}

// ---------------------------------------------------------------------------------------
// A strict reader of the pickle opcodes torch.save emits (protocol 2 by default, 4 with
// pickle_protocol=4). It interprets the stream as data: no class is ever instantiated.

class PickleReader {
 public:
  /// Returns storage `key` as a 1-D tensor of `numel` elements of `dtype`.
  using StorageLoader =
      std::function<torch::Tensor(const std::string& key, torch::Dtype dtype, std::int64_t numel)>;

  PickleReader(const std::string& bytes, std::string where, StorageLoader load_storage)
      : data_(bytes), where_(std::move(where)), load_storage_(std::move(load_storage)) {}

  ValuePtr read() {
    while (true) {
      const std::uint8_t opcode = u8();
      if (opcode == kStop) break;
      if (!stepData(opcode) && !stepContainer(opcode) && !stepMemo(opcode) && !stepObject(opcode)) {
        fail(fmt::format("unsupported pickle opcode {}", opcodeText(opcode)), pos_ - 1);
      }
    }
    if (stack_.size() != 1 || !marks_.empty()) fail("malformed pickle: stack not empty at STOP");
    return stack_.back();
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { fail(what, pos_); }
  [[noreturn]] void fail(const std::string& what, std::size_t at) const {
    throw DataError(fmt::format("{}, byte {}: {}", where_, at, what));
  }

  // --- operand bytes -------------------------------------------------------------------
  const char* take(std::uint64_t n) {
    if (n > data_.size() - pos_) fail("pickle truncated");
    const char* start = data_.data() + pos_;
    pos_ += n;
    return start;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(*take(1)); }
  std::uint64_t unsignedLE(int n) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(take(n));
    std::uint64_t value = 0;
    for (int i = n - 1; i >= 0; --i) value = (value << 8) | bytes[i];
    return value;
  }
  // Python's LONG1/LONG4: little-endian two's complement of any length. Integers beyond 64
  // bits (never a size or an offset) become opaque, so a checkpoint holding one still loads.
  ValuePtr longLE(std::uint64_t n) {
    if (n > 8) {
      take(n);
      return makeString(fmt::format("int of {} bytes", n), Value::Kind::Opaque);
    }
    if (n == 0) return makeInt(0);
    std::uint64_t value = unsignedLE(static_cast<int>(n));
    if (n < 8 && (value >> (8 * n - 1)) != 0) value |= ~std::uint64_t{0} << (8 * n);
    return makeInt(static_cast<std::int64_t>(value));
  }
  double bigEndianDouble() {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(take(8));
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | bytes[i];
    double value = 0.0;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }
  std::string line() {
    const auto end = data_.find('\n', pos_);
    if (end == std::string::npos) fail("pickle truncated in GLOBAL");
    std::string text = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return text;
  }

  // --- stack -----------------------------------------------------------------------------
  void push(ValuePtr value) { stack_.push_back(std::move(value)); }
  ValuePtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() == marks_.back())) {
      fail("malformed pickle: pop from an empty stack");
    }
    auto value = std::move(stack_.back());
    stack_.pop_back();
    return value;
  }
  ValuePtr& top() {
    if (stack_.empty()) fail("malformed pickle: empty stack");
    return stack_.back();
  }
  std::vector<ValuePtr> popMark() {
    if (marks_.empty()) fail("malformed pickle: no MARK");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  ValuePtr makeInt(std::int64_t integer) {
    auto value = makeValue(Value::Kind::Int);
    value->integer = integer;
    return value;
  }
  ValuePtr makeString(std::string text, Value::Kind kind = Value::Kind::String) {
    auto value = makeValue(kind);
    value->text = std::move(text);
    return value;
  }
  ValuePtr makeTuple(std::vector<ValuePtr> items) {
    auto value = makeValue(Value::Kind::Tuple);
    value->items = std::move(items);
    return value;
  }
  Value& expect(Value& value, Value::Kind kind, std::uint8_t opcode) {
    if (value.kind != kind) {
      fail(fmt::format("{} expects a {}, found a {}", opcodeName(opcode), kindName(kind),
                       describe(value)));
    }
    return value;
  }

  // --- opcodes -----------------------------------------------------------------------------
  // Protocol and framing, scalars and strings.
  bool stepData(std::uint8_t opcode) {
    switch (opcode) {
      case kProto: {
        const auto protocol = u8();
        if (protocol > 5) fail(fmt::format("pickle protocol {} is newer than 5", protocol));
        return true;
      }
      case kFrame:  // the length of the next frame: a hint for buffered readers
        unsignedLE(8);
        return true;
      case kNone:
        push(makeValue(Value::Kind::None));
        return true;
      case kNewTrue:
      case kNewFalse: {
        auto value = makeValue(Value::Kind::Bool);
        value->integer = opcode == kNewTrue ? 1 : 0;
        push(value);
        return true;
      }
      case kBinInt:
        push(makeInt(static_cast<std::int32_t>(unsignedLE(4))));
        return true;
      case kBinInt1:
        push(makeInt(u8()));
        return true;
      case kBinInt2:
        push(makeInt(static_cast<std::int64_t>(unsignedLE(2))));
        return true;
      case kLong1:
        push(longLE(u8()));
        return true;
      case kLong4:
        push(longLE(unsignedLE(4)));
        return true;
      case kBinFloat: {
        auto value = makeValue(Value::Kind::Float);
        value->real = bigEndianDouble();
        push(value);
        return true;
      }
      default:
        return stepString(opcode);
    }
  }

  // Text and bytes; bytes (checkpoint extras only) are kept as strings.
  bool stepString(std::uint8_t opcode) {
    std::uint64_t length = 0;
    switch (opcode) {
      case kBinUnicode:
      case kBinString:
      case kBinBytes:
        length = unsignedLE(4);
        break;
      case kShortBinUnicode:
      case kShortBinString:
      case kShortBinBytes:
        length = u8();
        break;
      case kBinUnicode8:
      case kBinBytes8:
        length = unsignedLE(8);
        break;
      default:
        return false;
    }
    const char* start = take(length);
    push(makeString(std::string(start, length)));
    return true;
  }

  // Tuples and lists; sets (never in a state dict) are read as lists.
  bool stepContainer(std::uint8_t opcode) {
    switch (opcode) {
      case kMark:
        marks_.push_back(stack_.size());
        return true;
      case kEmptyTuple:
        push(makeTuple({}));
        return true;
      case kTuple:
        push(makeTuple(popMark()));
        return true;
      case kTuple1:
      case kTuple2:
      case kTuple3: {
        std::vector<ValuePtr> items(opcode - kTuple1 + 1);
        for (auto item = items.rbegin(); item != items.rend(); ++item) *item = pop();
        push(makeTuple(std::move(items)));
        return true;
      }
      case kEmptyList:
      case kEmptySet:
        push(makeValue(Value::Kind::List));
        return true;
      case kList:
      case kFrozenSet: {
        auto list = makeValue(Value::Kind::List);
        list->items = popMark();
        push(list);
        return true;
      }
      case kAppend: {
        auto item = pop();
        expect(*top(), Value::Kind::List, opcode).items.push_back(std::move(item));
        return true;
      }
      case kAppends:
      case kAddItems: {
        auto items = popMark();
        auto& list = expect(*top(), Value::Kind::List, opcode).items;
        list.insert(list.end(), items.begin(), items.end());
        return true;
      }
      default:
        return stepDict(opcode);
    }
  }

  bool stepDict(std::uint8_t opcode) {
    switch (opcode) {
      case kEmptyDict:
        push(makeValue(Value::Kind::Dict));
        return true;
      case kDict: {
        auto dict = makeValue(Value::Kind::Dict);
        setItems(*dict, popMark());
        push(dict);
        return true;
      }
      case kSetItem: {
        auto value = pop();
        auto key = pop();
        setItems(expect(*top(), Value::Kind::Dict, opcode), {key, value});
        return true;
      }
      case kSetItems: {
        auto items = popMark();
        setItems(expect(*top(), Value::Kind::Dict, opcode), items);
        return true;
      }
      default:
        return false;
    }
  }

  void setItems(Value& dict, const std::vector<ValuePtr>& items) {
    if (items.size() % 2 != 0) fail("malformed pickle: odd number of dict items");
    for (std::size_t i = 0; i < items.size(); i += 2) {
      dict.entries.emplace_back(items[i], items[i + 1]);
    }
  }

  bool stepMemo(std::uint8_t opcode) {
    switch (opcode) {
      case kBinPut:
        memo_[u8()] = top();
        return true;
      case kLongBinPut:
        memo_[unsignedLE(4)] = top();
        return true;
      case kMemoize:  // stores under the next free index, as Python's pickle does
        memo_.emplace(memo_.size(), top());
        return true;
      case kBinGet:
        push(memoGet(u8()));
        return true;
      case kLongBinGet:
        push(memoGet(unsignedLE(4)));
        return true;
      case kPop:
        pop();
        return true;
      case kPopMark:
        popMark();
        return true;
      case kDup:
        push(top());
        return true;
      default:
        return false;
    }
  }

  ValuePtr memoGet(std::uint64_t index) {
    const auto found = memo_.find(index);
    if (found == memo_.end()) fail(fmt::format("malformed pickle: memo {} unset", index));
    return found->second;
  }

  // Classes, calls and persistent ids: the only place the stream names Python objects.
  bool stepObject(std::uint8_t opcode) {
    switch (opcode) {
      case kGlobal: {  // "module\nname\n"
        auto module = line();
        push(makeString(module + "." + line(), Value::Kind::Global));
        return true;
      }
      case kStackGlobal: {
        auto name = pop();
        auto module = pop();
        expect(*module, Value::Kind::String, opcode);
        expect(*name, Value::Kind::String, opcode);
        push(makeString(module->text + "." + name->text, Value::Kind::Global));
        return true;
      }
      case kReduce: {
        auto args = pop();
        auto callable = pop();
        push(reduce(expect(*callable, Value::Kind::Global, opcode),
                    expect(*args, Value::Kind::Tuple, opcode)));
        return true;
      }
      case kNewObj:      // cls, args
      case kNewObjEx: {  // cls, args, kwargs
        if (opcode == kNewObjEx) pop();
        pop();
        auto cls = pop();
        push(makeString(expect(*cls, Value::Kind::Global, opcode).text, Value::Kind::Opaque));
        return true;
      }
      case kBuild:
        build();
        return true;
      case kBinPersId:
        push(persistentLoad(*pop()));
        return true;
      default:
        return false;
    }
  }

  ValuePtr reduce(const Value& callable, const Value& args) {
    const std::string& name = callable.text;
    if (name == "collections.OrderedDict") {
      if (!args.items.empty()) fail("OrderedDict called with arguments");
      return makeValue(Value::Kind::Dict);
    }
    if (name == "torch._utils._rebuild_tensor_v2") return rebuildTensor(args);
    if (name == "torch._utils._rebuild_parameter" ||
        name == "torch._utils._rebuild_parameter_with_state") {
      // nn.Parameter(data, requires_grad, ...): the data is all a state dict needs.
      if (args.items.empty() || args.items[0]->kind != Value::Kind::Tensor) {
        fail(fmt::format("{} without a tensor", name));
      }
      return args.items[0];
    }
    // Anything else (numpy scalars, argparse.Namespace, ...) is kept as an opaque object.
    return makeString(name, Value::Kind::Opaque);
  }

  // BUILD sets an object's state: the `_metadata` attribute of a state dict's OrderedDict, or
  // the fields of an opaque object. Neither matters for the weights.
  void build() {
    pop();
    const auto kind = top()->kind;
    if (kind != Value::Kind::Dict && kind != Value::Kind::Opaque) {
      fail(fmt::format("BUILD on a {}", describe(*top())));
    }
  }

  // persistent_load(('storage', torch.<T>Storage, key, location, numel)) of torch.save.
  ValuePtr persistentLoad(const Value& pid) {
    const auto& items = pid.items;
    if (pid.kind != Value::Kind::Tuple || items.size() != 5 ||
        items[0]->kind != Value::Kind::String || items[0]->text != "storage" ||
        items[1]->kind != Value::Kind::Global || items[2]->kind != Value::Kind::String ||
        items[4]->kind != Value::Kind::Int) {
      fail("persistent id is not ('storage', type, key, location, numel)");
    }
    const auto dtype = storageDtype(items[1]->text);
    if (!dtype) fail(fmt::format("unsupported storage type {}", items[1]->text));
    const std::string& key = items[2]->text;
    auto& storage = storages_[key];
    if (!storage) {
      storage = makeValue(Value::Kind::Storage);
      storage->tensor = load_storage_(key, *dtype, items[4]->integer);
    } else if (storage->tensor.scalar_type() != *dtype) {
      fail(fmt::format("storage {} is read as two different types", key));
    }
    return storage;
  }

  // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
  // backward_hooks[, metadata]): a strided view of the storage, copied to its own memory.
  ValuePtr rebuildTensor(const Value& args) {
    const auto& items = args.items;
    if (items.size() < 6 || items[0]->kind != Value::Kind::Storage ||
        items[1]->kind != Value::Kind::Int || items[2]->kind != Value::Kind::Tuple ||
        items[3]->kind != Value::Kind::Tuple) {
      fail("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)");
    }
    const auto sizes = intTuple(*items[2]);
    const auto strides = intTuple(*items[3]);
    const torch::Tensor& storage = items[0]->tensor;
    auto tensor = makeValue(Value::Kind::Tensor);
    if (isEmptyView(sizes, strides, items[1]->integer, storage.numel())) {
      tensor->tensor = torch::empty(sizes, storage.options());
    } else {
      tensor->tensor = storage.as_strided(sizes, strides, items[1]->integer)
                           .clone(torch::MemoryFormat::Contiguous);
    }
    return tensor;
  }

  std::vector<std::int64_t> intTuple(const Value& tuple) {
    std::vector<std::int64_t> values;
    for (const auto& item : tuple.items) {
      if (item->kind != Value::Kind::Int) fail("tensor size or stride is not an integer");
      values.push_back(item->integer);
    }
    return values;
  }

  // Whether the view has no elements; throws if a non-empty one reaches outside the storage,
  // so that a bad file cannot make as_strided read out of bounds. No intermediate value can
  // overflow.
  bool isEmptyView(const std::vector<std::int64_t>& sizes, const std::vector<std::int64_t>& strides,
                   std::int64_t offset, std::int64_t storage_numel) {
    if (sizes.size() != strides.size()) fail("tensor has different numbers of sizes and strides");
    bool empty = false;
    for (std::size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] < 0 || strides[d] < 0) fail("negative tensor size or stride");
      empty = empty || sizes[d] == 0;
    }
    if (offset < 0) fail("negative storage offset");
    if (empty) return true;
    if (offset >= storage_numel) fail("tensor starts past the end of its storage");
    std::int64_t last = offset;  // largest element index reached so far, < storage_numel
    for (std::size_t d = 0; d < sizes.size(); ++d) {
      if (strides[d] == 0 || sizes[d] == 1) continue;
      if (sizes[d] - 1 > (storage_numel - 1 - last) / strides[d]) {
        fail("tensor extends past the end of its storage");
      }
      last += (sizes[d] - 1) * strides[d];
    }
    return false;
  }

  const std::string& data_;
  std::size_t pos_ = 0;
  std::string where_;
  StorageLoader load_storage_;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, ValuePtr> memo_;
  std::unordered_map<std::string, ValuePtr> storages_;
};

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
  std::memcpy(storage.data_ptr(), data.get(), static_cast<std::size_t>(numel) * element_size);
  return storage;
}

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
    PickleReader unpickler(pickle, path + ": data.pkl",
                           [&](const std::string& key, torch::Dtype dtype, std::int64_t numel) {
                             return loadStorage(reader, path, key, dtype, numel);
                           });
    const auto root = unpickler.read();
    return toStateDict(selectStateDict(*root, path), path);
  } catch (const c10::Error& error) {
    // Corrupt or truncated zip (bad central directory, CRC mismatch): miniz via LibTorch.
    throw DataError(
        fmt::format("{}: unreadable PyTorch archive: {}", path, error.what_without_backtrace()));
  }
}

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

// ---------------------------------------------------------------------------------------
// Format detection by content.

enum class Format { TorchZip, Safetensors };

Format detectFormat(const std::string& path, std::uint64_t file_size) {
  if (file_size == 0) throw DataError(fmt::format("{}: empty file", path));
  std::ifstream file(path, std::ios::binary);
  if (!file) throw DataError(fmt::format("{}: cannot open", path));
  char head[9] = {};
  file.read(head, sizeof head);
  if (file_size >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return Format::TorchZip;
  if (static_cast<std::uint8_t>(head[0]) == 0x80) {
    throw DataError(fmt::format(
        "{}: a plain pickle, the legacy format of torch.save before PyTorch 1.6; re-save it "
        "with a recent PyTorch: torch.save(torch.load(path), path)",
        path));
  }
  if (file_size >= 9 && head[8] == '{') return Format::Safetensors;
  throw DataError(
      fmt::format("{}: neither a PyTorch zip archive nor a safetensors file ({} bytes; truncated?)",
                  path, file_size));
}

// ---------------------------------------------------------------------------------------
// loadStateDict helpers.

// Parameters then buffers, in registration order, skipping the undefined tensors LibTorch
// registers for absent parts (a Linear without bias).
std::vector<std::pair<std::string, torch::Tensor>> namedTensors(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& item : module.named_parameters()) {
    if (item.value().defined()) named.emplace_back(item.key(), item.value());
  }
  for (const auto& item : module.named_buffers()) {
    if (item.value().defined()) named.emplace_back(item.key(), item.value());
  }
  return named;
}

std::string shapeText(torch::IntArrayRef sizes) {
  return fmt::format("[{}]", fmt::join(sizes.begin(), sizes.end(), ", "));
}

// "n kind (a, b, ... and N more)" with at most 20 names, so a wrong backbone stays readable.
std::string listNames(const std::vector<std::string>& names, const char* kind) {
  constexpr std::size_t kShown = 20;
  const auto shown = std::min(names.size(), kShown);
  std::string text = fmt::format("{} {} ({}", names.size(), kind,
                                 fmt::join(names.begin(), names.begin() + shown, ", "));
  if (names.size() > kShown) text += fmt::format(" and {} more", names.size() - kShown);
  return text + ")";
}

std::string mismatchMessage(const LoadReport& report, const std::string& prefix) {
  std::vector<std::string> parts;
  if (!report.missing.empty()) parts.push_back(listNames(report.missing, "missing"));
  if (!report.unexpected.empty()) parts.push_back(listNames(report.unexpected, "unexpected"));
  if (!report.mismatched.empty()) parts.push_back(listNames(report.mismatched, "mismatched"));
  const std::string prefix_note = prefix.empty() ? "" : fmt::format(" (prefix '{}')", prefix);
  return fmt::format(
      "weights do not fit the model{}: {}; nothing was copied (non-strict loading copies the "
      "tensors that match)",
      prefix_note, fmt::join(parts, "; "));
}

}  // namespace

StateDict readWeightFile(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw DataError(fmt::format("{}: no such weight file", path));
  }
  const auto file_size = std::filesystem::file_size(path, error);
  if (error) throw DataError(fmt::format("{}: unreadable: {}", path, error.message()));
  switch (detectFormat(path, file_size)) {
    case Format::TorchZip:
      return readTorchZip(path);
    case Format::Safetensors:
      return readSafetensors(path, file_size);
  }
  throw DataError(fmt::format("{}: unknown weight format", path));
}

LoadReport loadStateDict(torch::nn::Module& module, const StateDict& weights, bool strict,
                         const std::string& prefix) {
  const auto targets = namedTensors(module);
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < targets.size(); ++i) index.emplace(targets[i].first, i);

  LoadReport report;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // destination, source
  std::unordered_set<std::string> matched;
  for (const auto& [key, tensor] : weights) {
    const auto found = key.compare(0, prefix.size(), prefix) == 0
                           ? index.find(key.substr(prefix.size()))
                           : index.end();
    if (found == index.end()) {
      report.unexpected.push_back(key);
      continue;
    }
    const auto& [name, destination] = targets[found->second];
    matched.insert(name);
    if (destination.sizes() != tensor.sizes()) {
      report.mismatched.push_back(fmt::format("{}: file {} vs model {}", name,
                                              shapeText(tensor.sizes()),
                                              shapeText(destination.sizes())));
      continue;
    }
    report.loaded.push_back(name);
    copies.emplace_back(destination, tensor);
  }
  for (const auto& [name, tensor] : targets) {
    if (matched.count(name) == 0) report.missing.push_back(name);
  }
  const bool clean =
      report.missing.empty() && report.unexpected.empty() && report.mismatched.empty();
  if (strict && !clean) throw TrainError(mismatchMessage(report, prefix));

  torch::NoGradGuard no_grad;
  for (auto& [destination, source] : copies) destination.copy_(source);  // casts and moves
  return report;
}

}  // namespace ferlab::models
