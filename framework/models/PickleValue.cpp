// Pickle values as error messages name them ("dict", "object (collections.OrderedDict)").

#include "framework/models/PickleReader.h"

#include <fmt/format.h>

namespace ferlab::models::detail {

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

}  // namespace ferlab::models::detail
