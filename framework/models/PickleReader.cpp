#include "framework/models/PickleReader.h"

#include <cstring>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::models::detail {
namespace {

ValuePtr makeValue(Value::Kind kind) {
  auto value = std::make_shared<Value>();
  value->kind = kind;
  return value;
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

}  // namespace

ValuePtr readPickle(const std::string& bytes, std::string where, StorageLoader load_storage) {
  return PickleReader(bytes, std::move(where), std::move(load_storage)).read();
}

}  // namespace ferlab::models::detail
