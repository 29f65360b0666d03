// Values: where they came from, type checks against the schema, conversion to canonical JSON,
// range checks, and the error messages that name file:line:column and the key.

#include <cmath>

#include "framework/config/ConfigLayers.h"
#include "framework/core/Errors.h"

namespace ferlab::config {
namespace {

std::string typeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    default:
      return "nothing";
  }
}

std::vector<std::string> knownKeys(KeyScope scope) {
  std::vector<std::string> keys;
  for (const Key& key : schema().keys()) {
    if (scope != KeyScope::kSectionKeys || key.key.find('.') != std::string::npos)
      keys.push_back(key.key);
  }
  for (const ArrayKey& array : schema().arrays()) keys.push_back(array.key);
  if (scope == KeyScope::kTopLevel) {
    for (const auto& [key, value] : schema().defaults().items()) {
      if (value.is_object()) keys.push_back(key);
    }
    keys.push_back("include");
    keys.push_back("grid");
  }
  return keys;
}

json floatValue(const toml::node& node, const std::string& key, const Origin& origin) {
  double value = 0;
  if (auto f = node.as_floating_point()) {
    value = f->get();
  } else if (auto i = node.as_integer()) {
    value = static_cast<double>(i->get());
  } else {
    failType(origin, key, "a float", node);
  }
  // NaN and infinities have no JSON form and no meaning as a hyperparameter.
  if (!std::isfinite(value))
    fail(origin, key, "expected a finite float, got " + formatNumber(value));
  return value;
}

/// data.subset: a fraction in (0, 1] or an integer count of training images. The integer 1
/// means "everything", like 1.0, so both resolve to the float 1.0 and hash the same.
json subsetValue(const toml::node& node, const std::string& key, const Origin& origin) {
  const std::string expected = "a fraction in (0, 1] or an integer count >= 1";
  if (auto i = node.as_integer()) {
    if (i->get() < 1)
      fail(origin, key, "expected " + expected + ", got " + std::to_string(i->get()));
    return i->get() == 1 ? json(1.0) : json(i->get());
  }
  if (!node.is_floating_point()) failType(origin, key, expected, node);
  const json value = floatValue(node, key, origin);
  const double x = value.get<double>();
  if (!(x > 0 && x <= 1)) fail(origin, key, "expected " + expected + ", got " + formatNumber(x));
  return value;
}

/// A string or an array of strings; one string stands for a list of one, so
/// `trainable = "head"` is `trainable = ["head"]`. An empty array only where the key's
/// default is one (reference.differences).
json stringListValue(const toml::node& node, const std::string& key, const Origin& origin,
                     bool may_be_empty) {
  const std::string expected =
      may_be_empty ? "a string or an array of strings" : "a string or a non-empty array of strings";
  if (auto s = node.as_string()) return json::array({s->get()});
  const toml::array* items = node.as_array();
  if (items == nullptr) failType(origin, key, expected, node);
  if (items->empty() && !may_be_empty)
    fail(origin, key, "expected " + expected + ", got an empty array");
  json list = json::array();
  for (std::size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    if (!item.is_string()) {
      failType(Origin::at(origin.file, item.source()), key + "[" + std::to_string(i) + "]",
               "a string", item);
    }
    list.push_back(item.as_string()->get());
  }
  return list;
}

/// The value in canonical JSON form if it has the type of `info`; `key` names it in errors.
json typedValue(const toml::node& node, const KeyInfo& info, const std::string& key,
                const Origin& origin) {
  switch (info.type) {
    case ValueType::Float:
      return floatValue(node, key, origin);
    case ValueType::Integer:
      if (!node.is_integer()) failType(origin, key, "an integer", node);
      return node.as_integer()->get();
    case ValueType::Boolean:
      if (!node.is_boolean()) failType(origin, key, "a boolean", node);
      return node.as_boolean()->get();
    case ValueType::String:
      if (!node.is_string()) failType(origin, key, "a string", node);
      return node.as_string()->get();
    case ValueType::StringList:
      return stringListValue(node, key, origin,
                             info.default_value.is_array() && info.default_value.empty());
    case ValueType::Subset:
      return subsetValue(node, key, origin);
  }
  throw std::logic_error("config: unhandled value type for " + key);
}

}  // namespace

Origin Origin::at(const std::string& file, const toml::source_region& region) {
  return {file,
          static_cast<std::int64_t>(region.begin.line),
          static_cast<std::int64_t>(region.begin.column),
          {}};
}

std::string Origin::where() const {
  if (isFlag()) return "--set " + set_key;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

void fail(const Origin& origin, const std::string& key, const std::string& what) {
  // A --set flag already names the key.
  if (origin.isFlag()) throw ConfigError(origin.where() + ": " + what);
  throw ConfigError(origin.where() + ": " + key + ": " + what);
}

void failAt(const Origin& origin, const std::string& what) {
  throw ConfigError(origin.where() + ": " + what);
}

void failUnknown(const Origin& origin, const std::string& key, KeyScope scope,
                 const std::string& kind) {
  failAt(origin, "unknown " + kind + " '" + key + "'" + didYouMean(key, knownKeys(scope)));
}

void failType(const Origin& origin, const std::string& key, const std::string& expected,
              const toml::node& node) {
  fail(origin, key, "expected " + expected + ", got " + typeName(node.type()));
}

json validateValue(const std::string& key, const toml::node& node, const Origin& origin) {
  const Key* spec = schema().find(key);
  if (spec == nullptr) failUnknown(origin, key, KeyScope::kSettableKeys);
  json value = typedValue(node, *spec, key, origin);
  if (const std::string why = spec->rule(value); !why.empty()) fail(origin, key, why);
  return value;
}

json validateEntryValue(const KeyInfo& info, const std::string& full_key, const toml::node& node,
                        const Origin& origin) {
  json value = typedValue(node, info, full_key, origin);
  if (const std::string why = info.rule(value); !why.empty()) fail(origin, full_key, why);
  return value;
}

}  // namespace ferlab::config
