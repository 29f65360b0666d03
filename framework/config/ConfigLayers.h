#pragma once
// Internal to framework/config: what the reader (ConfigReader.cpp) and the --set parser
// (ConfigOverrides.cpp) hand the resolver (ConfigResolver.cpp): validated values with the
// place they were set, in the order they apply; and the error helpers all three share.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "framework/config/ConfigSchema.h"

namespace ferlab::config {

/// Where a value came from: a position in a TOML file, or a --set flag.
struct Origin {
  std::string file;  ///< empty for --set
  std::int64_t line = 0;
  std::int64_t column = 0;
  std::string set_key;  ///< the key as written after --set

  static Origin at(const std::string& file, const toml::source_region& region);
  static Origin flag(const std::string& key) { return {{}, 0, 0, key}; }
  bool isFlag() const { return file.empty(); }
  /// "file:3:7" or "--set train.lr".
  std::string where() const;
};

/// Throws ConfigError "file:3:7: train.lr: <what>", or "--set train.lr: <what>".
[[noreturn]] void fail(const Origin& origin, const std::string& key, const std::string& what);
/// Throws ConfigError "file:3:7: <what>".
[[noreturn]] void failAt(const Origin& origin, const std::string& what);

/// Which names an unknown key is compared with for a suggestion.
enum class KeyScope {
  kSectionKeys,   ///< "section.key" only: inside a section, and grid keys
  kSettableKeys,  ///< every schema key, name and description included: --set
  kTopLevel,      ///< also the section names, include and grid: a file's top level
};
[[noreturn]] void failUnknown(const Origin& origin, const std::string& key, KeyScope scope,
                              const std::string& kind = "key");
[[noreturn]] void failType(const Origin& origin, const std::string& key,
                           const std::string& expected, const toml::node& node);

/// One value for `key` in canonical JSON form, type- and range-checked (ConfigValues.cpp).
json validateValue(const std::string& key, const toml::node& node, const Origin& origin);
/// One key of an array entry; `full_key` ("model.head[1].units") names it in errors.
json validateEntryValue(const KeyInfo& info, const std::string& full_key, const toml::node& node,
                        const Origin& origin);

/// One validated value and where it was set.
struct Setting {
  std::string key;
  json value;
  Origin origin;
};

/// One grid dimension: a key and its validated values, in file order.
struct Axis {
  std::string key;
  std::string file;  ///< the file that declared it, to tell a redefinition from a duplicate
  std::vector<Setting> values;
};

/// Everything the sources set, in the order it applies (includes, file, --set).
struct Layers {
  std::vector<Setting> settings;
  std::vector<Axis> grid;
};

/// The file's text; `error_prefix` starts the ConfigError message when it cannot be read.
std::string readFile(const std::string& path, const std::string& error_prefix);

/// Reads the experiment file `source` (its text), its includes first, into layers.
Layers readLayers(const std::string& text, const std::string& source);

/// "key=value" from --set -> a Setting. The value is TOML when it parses as one, else a bare
/// string, so `--set model.name=vggnet` works without shell-escaped quotes.
Setting parseOverride(const std::string& text);

}  // namespace ferlab::config
