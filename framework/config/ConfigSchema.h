#pragma once
// Internal to framework/config: the schema of every config key. Each key is declared once, in
// ConfigKeys.cpp, binding its TOML name to its RunConfig field; the field's C++ type and
// default initializer give the key's type and default. From the declarations come the
// validation (ConfigValues.cpp), the default TOML of `--print-defaults`, README's config
// reference (configReferenceMarkdown) and the run identity (which keys the config hash covers).

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/config/ConfigRules.h"
#include "framework/config/RunConfig.h"

namespace ferlab::config {

using json = nlohmann::json;

/// The TOML type a key takes. An integer is accepted where a float is expected.
enum class ValueType {
  Integer,
  Float,
  Boolean,
  String,
  StringList,  ///< a string or a non-empty array of strings
  Subset,      ///< data.subset: a fraction in (0, 1] or an integer count
};

/// Whether a key is part of what a run *is* (its config hash and id), only of how it was
/// executed (device, threads, evaluation batch size...), or an annotation (description, the
/// reproduced reference): execution keys and annotations are recorded with the run, but
/// changing them neither changes its id nor retrains a finished run.
enum class KeyRole { Identity, Execution, Annotation };

/// A key's facts, without its binding.
struct KeyInfo {
  std::string key;  ///< "train.lr"; inside an array entry the entry key ("units")
  ValueType type = ValueType::String;
  Rule rule;           ///< range or choices
  std::string doc;     ///< one line: what it is, with units
  std::string source;  ///< paper, library or seed the method comes from; "" = FERLab's own
  KeyRole role = KeyRole::Identity;
  std::vector<std::pair<std::string, std::string>> choices;  ///< (name, doc) of an enum key
  json default_value;  ///< read from a default-constructed struct
};

/// A scalar key of RunConfig.
struct Key : KeyInfo {
  std::function<json(const RunConfig&)> read;
  std::function<void(RunConfig&, const json&)> write;
};

/// Reports a rule broken by entry `entry` at its key `key` (throws ConfigError).
using EntryFail =
    std::function<void(std::size_t entry, const std::string& key, const std::string& what)>;
/// Rules across the entries of one array, run once it is read; may fill in values (a
/// phase's empty name).
using EntryFinish = std::function<void(json& entries, const EntryFail& fail)>;

/// An array of tables (`[[model.head]]`): its key, doc and the keys of one entry.
struct ArrayKey {
  std::string key;  ///< "model.head"
  std::string doc;  ///< a few lines, for --print-defaults and README
  std::vector<KeyInfo> entry;
  json entry_defaults;  ///< {"units": 128, ...}
  std::function<json(const RunConfig&)> read;
  std::function<void(RunConfig&, const json&)> write;
  EntryFinish finish;

  const KeyInfo* find(const std::string& name) const;
};

/// The per-model defaults of batch_norm and the two dropout rates: applied over the base
/// defaults and under every user value, so `model.name = "vggnet"` alone gives the
/// regularisation that architecture is built around.
struct ModelDefaults {
  bool batch_norm = false;
  double conv_dropout = 0.0;
  double fc_dropout = 0.0;
};
ModelDefaults modelDefaults(ModelName model);

/// The declarations (ConfigKeys.cpp), in documentation order.
std::vector<Key> declareKeys();
std::vector<ArrayKey> declareArrays();

class Schema {
 public:
  Schema();

  const Key* find(const std::string& key) const;
  const ArrayKey* findArray(const std::string& key) const;
  /// `model.head`, `model.head[0].units` -> the model.head array; else nullptr.
  const ArrayKey* arrayOf(const std::string& key) const;
  bool isSection(const std::string& name) const;
  const std::vector<Key>& keys() const { return keys_; }
  const std::vector<ArrayKey>& arrays() const { return arrays_; }
  /// {"name": ..., "data": {...}, ...}: every key at its default, arrays empty.
  const json& defaults() const { return defaults_; }

 private:
  std::vector<Key> keys_;
  std::vector<ArrayKey> arrays_;
  std::map<std::string, std::size_t> index_;
  json defaults_ = json::object();
};

const Schema& schema();

/// "/train/lr" for "train.lr".
json::json_pointer pointerTo(const std::string& key);

// --- bindings: a field's type gives the key's type and conversions -------------------------

template <typename T>
ValueType valueTypeOf() {
  if constexpr (std::is_same_v<T, bool>) {
    return ValueType::Boolean;
  } else if constexpr (std::is_integral_v<T>) {
    return ValueType::Integer;
  } else if constexpr (std::is_floating_point_v<T>) {
    return ValueType::Float;
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return ValueType::StringList;
  } else {
    return ValueType::String;  // std::string, enums, std::optional<enum>
  }
}

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T>
json toJson(const T& value) {
  if constexpr (std::is_enum_v<T>) {
    return choiceName(value);
  } else if constexpr (IsOptional<T>::value) {
    return value ? json(choiceName(*value)) : json("");
  } else {
    return value;
  }
}

/// `value` has passed the key's type and rule checks.
template <typename E>
E choiceFromJson(const json& value) {
  const auto text = value.get<std::string>();
  const std::optional<E> choice = parseChoice<E>(text);
  // Only a stored record written by another FERLab version can get here.
  if (!choice) throw std::out_of_range("unknown choice '" + text + "'");
  return *choice;
}

/// `value` has passed the key's type and rule checks; std::out_of_range for an unknown choice
/// (a record from another version), json::exception for a wrong type.
template <typename T>
T fromJson(const json& value) {
  if constexpr (std::is_enum_v<T>) {
    return choiceFromJson<T>(value);
  } else if constexpr (IsOptional<T>::value) {
    if (value.get<std::string>().empty()) return std::nullopt;
    return choiceFromJson<typename T::value_type>(value);
  } else {
    return value.get<T>();
  }
}

/// The choices of an enum (or optional enum, whose "" means "inherit") field.
template <typename T>
void describeChoices(KeyInfo& info) {
  if constexpr (std::is_enum_v<T>) {
    for (const auto& choice : ChoiceTable<T>::entries())
      info.choices.emplace_back(choice.name, choice.doc);
    info.rule = oneOf(choiceNames<T>());
  } else if constexpr (IsOptional<T>::value) {
    info.choices.emplace_back("", "inherit");
    for (const auto& choice : ChoiceTable<typename T::value_type>::entries())
      info.choices.emplace_back(choice.name, choice.doc);
    auto names = choiceNames<typename T::value_type>();
    names.insert(names.begin(), "");
    info.rule = oneOf(names);
  }
}

/// Facts of one key; `rule` may be left empty for an enum field, whose choices are its rule.
struct KeyText {
  KeyText(Rule rule_, std::string doc_, std::string source_ = "", KeyRole role_ = KeyRole::Identity)
      : rule(std::move(rule_)), doc(std::move(doc_)), source(std::move(source_)), role(role_) {}
  Rule rule;
  std::string doc;
  std::string source;
  KeyRole role = KeyRole::Identity;
};

/// Copies `text` into `info`; an enum field's choices (describeChoices) replace an empty rule.
inline void describe(KeyInfo& info, KeyText text) {
  info.rule = std::move(text.rule);
  info.doc = std::move(text.doc);
  info.source = std::move(text.source);
  info.role = text.role;
}

/// Declares the key `key` bound to `(config.*section).*field`.
template <typename Section, typename T>
Key key(std::string name, Section RunConfig::*section, T Section::*field, KeyText text) {
  Key spec;
  spec.key = std::move(name);
  spec.type = valueTypeOf<T>();
  describe(spec, std::move(text));
  describeChoices<T>(spec);
  spec.read = [=](const RunConfig& config) { return toJson((config.*section).*field); };
  spec.write = [=](RunConfig& config, const json& value) {
    (config.*section).*field = fromJson<T>(value);
  };
  return spec;
}

/// Declares a top-level key (`name`, `description`).
template <typename T>
Key topKey(std::string name, T RunConfig::*field, KeyText text) {
  Key spec;
  spec.key = std::move(name);
  spec.type = valueTypeOf<T>();
  describe(spec, std::move(text));
  spec.read = [=](const RunConfig& config) { return toJson(config.*field); };
  spec.write = [=](RunConfig& config, const json& value) { config.*field = fromJson<T>(value); };
  return spec;
}

/// One key of an array entry, bound to `Entry::*field`.
template <typename Entry>
struct EntryKey {
  KeyInfo info;
  std::function<json(const Entry&)> read;
  std::function<void(Entry&, const json&)> write;
};

template <typename Entry, typename T>
EntryKey<Entry> entryKey(std::string name, T Entry::*field, KeyText text) {
  EntryKey<Entry> spec;
  spec.info.key = std::move(name);
  spec.info.type = valueTypeOf<T>();
  describe(spec.info, std::move(text));
  describeChoices<T>(spec.info);
  spec.info.default_value = toJson(Entry{}.*field);
  spec.read = [=](const Entry& entry) { return toJson(entry.*field); };
  spec.write = [=](Entry& entry, const json& value) { entry.*field = fromJson<T>(value); };
  return spec;
}

/// Declares the array of tables `name` bound to `(config.*section).*field`.
template <typename Section, typename Entry>
ArrayKey arrayKey(std::string name, Section RunConfig::*section, std::vector<Entry> Section::*field,
                  std::vector<EntryKey<Entry>> entry_keys, std::string doc,
                  EntryFinish finish = {}) {
  ArrayKey array;
  array.key = std::move(name);
  array.doc = std::move(doc);
  array.finish = std::move(finish);
  array.entry_defaults = json::object();
  for (const auto& entry_key : entry_keys) {
    array.entry.push_back(entry_key.info);
    array.entry_defaults[entry_key.info.key] = entry_key.info.default_value;
  }
  array.read = [=](const RunConfig& config) {
    json entries = json::array();
    for (const Entry& entry : (config.*section).*field) {
      json element = json::object();
      for (const auto& entry_key : entry_keys) element[entry_key.info.key] = entry_key.read(entry);
      entries.push_back(std::move(element));
    }
    return entries;
  };
  array.write = [=](RunConfig& config, const json& entries) {
    auto& target = (config.*section).*field;
    target.clear();
    for (const json& element : entries) {
      Entry entry;
      for (const auto& entry_key : entry_keys)
        entry_key.write(entry, element.at(entry_key.info.key));
      target.push_back(std::move(entry));
    }
  };
  return array;
}

}  // namespace ferlab::config
