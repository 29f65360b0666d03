// --set overrides: "key=value" from the command line, validated like a value in a file.

#include "framework/config/ConfigLayers.h"
#include "framework/core/Errors.h"

namespace ferlab::config {
namespace {

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

}  // namespace

Setting parseOverride(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == std::string::npos) {
    throw ConfigError("--set " + text + ": expected key=value");
  }
  const std::string key = trim(text.substr(0, equals));
  const std::string raw = trim(text.substr(equals + 1));
  const Origin origin = Origin::flag(key);
  if (key.empty()) throw ConfigError("--set " + text + ": expected key=value, the key is empty");
  if (const ArrayKey* array = schema().arrayOf(key)) {
    fail(origin, key,
         array->key + " is an array of tables, which --set cannot change; edit the [[" +
             array->key + "]] tables in the experiment file");
  }
  if (schema().find(key) == nullptr) failUnknown(origin, key, KeyScope::kSettableKeys);
  toml::table parsed;
  try {
    parsed = toml::parse(std::string_view("v = " + raw), std::string_view("--set"));
  } catch (const toml::parse_error&) {
  }
  const toml::node* node = parsed.size() == 1 ? parsed.get("v") : nullptr;
  if (node == nullptr) {
    // TOML text is checked for UTF-8 by the parser; a bare string is not, and the JSON
    // record of the run cannot hold anything else.
    try {
      (void)json(raw).dump();
    } catch (const json::exception&) {
      fail(origin, key, "the value is not valid UTF-8");
    }
    const toml::value<std::string> bare(raw);
    return {key, validateValue(key, bare, origin), origin};
  }
  return {key, validateValue(key, *node, origin), origin};
}

}  // namespace ferlab::config
