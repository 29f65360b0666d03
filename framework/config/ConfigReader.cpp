// Reading experiment files into layers of settings: TOML parsing, sections, arrays of tables,
// includes (merged first, cycles detected) and [grid] axes.

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "framework/config/ConfigLayers.h"
#include "framework/core/Errors.h"

namespace ferlab::config {

namespace fs = std::filesystem;

std::string readFile(const std::string& path, const std::string& error_prefix) {
  std::error_code error;
  if (fs::is_directory(path, error)) throw ConfigError(error_prefix + "is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(error_prefix + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

namespace {

/// Where each key of one array entry was set; a key left at its default is placed at the
/// entry itself (its `[[...]]` header or inline table).
struct EntryOrigins {
  Origin entry;
  std::map<std::string, Origin> keys;

  const Origin& of(const std::string& key) const {
    const auto it = keys.find(key);
    return it == keys.end() ? entry : it->second;
  }
};

toml::table parseToml(const std::string& text, const std::string& source) {
  try {
    return toml::parse(std::string_view(text), std::string_view(source));
  } catch (const toml::parse_error& error) {
    throw ConfigError(Origin::at(source, error.source()).where() +
                      ": TOML syntax error: " + std::string(error.description()));
  }
}

/// The table's entries in file order (toml++ iterates tables in key order), so errors are
/// reported top to bottom and grid axes keep the order they were written in.
std::vector<std::pair<const toml::key*, const toml::node*>> inFileOrder(const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, node] : table) entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

class LayerReader {
 public:
  explicit LayerReader(Layers& layers) : layers_(layers) {}

  /// Reads the experiment file itself; included files are read through read().
  void readRoot(const std::string& text, const std::string& source) {
    stack_.push_back(canonical(source));
    read(text, source);
  }

 private:
  static std::string canonical(const std::string& path) {
    std::error_code error;
    const fs::path resolved = fs::weakly_canonical(path, error);
    return error ? path : resolved.string();
  }

  /// Reads `text` (named `source`), its includes first, into the layers.
  void read(const std::string& text, const std::string& source) {
    const toml::table table = parseToml(text, source);
    if (const toml::node* include = table.get("include")) readIncludes(*include, source);
    for (const auto& [key, node] : inFileOrder(table)) {
      const std::string name(key->str());
      if (name == "include") continue;
      if (name == "grid") {
        readGrid(*key, *node, source);
      } else if (schema().isSection(name)) {
        readSection(name, *node, source);
      } else if (schema().find(name) == nullptr) {
        failUnknown(Origin::at(source, key->source()), name, KeyScope::kTopLevel);
      } else {
        const Origin origin = Origin::at(source, node->source());
        layers_.settings.push_back({name, validateValue(name, *node, origin), origin});
      }
    }
  }

  void readIncludes(const toml::node& include, const std::string& source) {
    const Origin origin = Origin::at(source, include.source());
    const toml::array* paths = include.as_array();
    if (paths == nullptr) failType(origin, "include", "an array of file paths", include);
    for (const toml::node& entry : *paths) {
      const Origin at = Origin::at(source, entry.source());
      if (!entry.is_string()) failType(at, "include", "an array of file paths", entry);
      const std::string path =
          (fs::path(source).parent_path() / entry.as_string()->get()).lexically_normal().string();
      readIncluded(path, at);
    }
  }

  void readIncluded(const std::string& path, const Origin& at) {
    const std::string id = canonical(path);
    if (std::find(stack_.begin(), stack_.end(), id) != stack_.end()) {
      fail(at, "include", "'" + path + "' includes itself (include cycle)");
    }
    const std::string text = readFile(path, at.where() + ": include: cannot read '" + path + "': ");
    stack_.push_back(id);
    read(text, path);
    stack_.pop_back();
  }

  void readSection(const std::string& section, const toml::node& node, const std::string& source) {
    const toml::table* table = node.as_table();
    if (table == nullptr) failType(Origin::at(source, node.source()), section, "a table", node);
    for (const auto& [key, value] : inFileOrder(*table)) {
      const std::string full = section + "." + std::string(key->str());
      if (const ArrayKey* array = schema().findArray(full)) {
        layers_.settings.push_back(readArray(*array, *value, source));
        continue;
      }
      if (schema().find(full) == nullptr)
        failUnknown(Origin::at(source, key->source()), full, KeyScope::kSectionKeys);
      const Origin origin = Origin::at(source, value->source());
      layers_.settings.push_back({full, validateValue(full, *value, origin), origin});
    }
  }

  /// `[[model.head]]` tables (or `head = [{...}, ...]`) -> one setting holding the whole
  /// array, every entry complete with defaults, so it replaces an included array as a whole.
  static Setting readArray(const ArrayKey& array, const toml::node& node,
                           const std::string& source) {
    const Origin origin = Origin::at(source, node.source());
    const toml::array* elements = node.as_array();
    if (elements == nullptr)
      failType(origin, array.key, "an array of tables ([[" + array.key + "]])", node);
    json entries = json::array();
    std::vector<EntryOrigins> origins;
    for (std::size_t i = 0; i < elements->size(); ++i) {
      const toml::node& element = *elements->get(i);
      const std::string prefix = array.key + "[" + std::to_string(i) + "]";
      EntryOrigins where{Origin::at(source, element.source()), {}};
      const toml::table* table = element.as_table();
      if (table == nullptr) failType(where.entry, prefix, "a table", element);
      std::vector<std::string> known;
      for (const KeyInfo& info : array.entry) known.push_back(prefix + "." + info.key);
      json entry = array.entry_defaults;
      for (const auto& [key, value] : inFileOrder(*table)) {
        const std::string name(key->str());
        const std::string full = prefix + "." + name;
        const KeyInfo* info = array.find(name);
        if (info == nullptr) {
          failAt(Origin::at(source, key->source()),
                 "unknown key '" + full + "'" + didYouMean(full, known));
        }
        const Origin at = Origin::at(source, value->source());
        entry[name] = validateEntryValue(*info, full, *value, at);
        where.keys.emplace(name, at);
      }
      entries.push_back(std::move(entry));
      origins.push_back(std::move(where));
    }
    if (array.finish) {
      array.finish(entries, [&](std::size_t i, const std::string& key, const std::string& what) {
        fail(origins[i].of(key), array.key + "[" + std::to_string(i) + "]." + key, what);
      });
    }
    return {array.key, std::move(entries), origin};
  }

  struct Leaf {
    std::string key;
    const toml::key* name;
    const toml::node* node;
  };

  // Grid keys may be dotted strings ("train.lr") or nested tables ([grid.train] lr), or both.
  void collectLeaves(const toml::table& table, const std::string& prefix,
                     std::vector<Leaf>& leaves) {
    for (auto&& [key, node] : table) {
      const std::string full =
          prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
      if (const toml::table* nested = node.as_table()) {
        collectLeaves(*nested, full, leaves);
      } else {
        leaves.push_back({full, &key, &node});
      }
    }
  }

  void readGrid(const toml::key& key, const toml::node& node, const std::string& source) {
    const toml::table* table = node.as_table();
    if (table == nullptr) failType(Origin::at(source, key.source()), "grid", "a table", node);
    std::vector<Leaf> leaves;
    collectLeaves(*table, "", leaves);
    std::stable_sort(leaves.begin(), leaves.end(), [](const Leaf& a, const Leaf& b) {
      const auto& pa = a.name->source().begin;
      const auto& pb = b.name->source().begin;
      return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
    });
    for (const Leaf& leaf : leaves) addAxis(readAxis(leaf, source));
  }

  Axis readAxis(const Leaf& leaf, const std::string& source) {
    const Origin key_origin = Origin::at(source, leaf.name->source());
    if (const ArrayKey* array = schema().arrayOf(leaf.key)) {
      failAt(key_origin, "grid key '" + leaf.key + "': grid keys must be scalar keys, and " +
                             array->key + " is an array of tables; write each [[" + array->key +
                             "]] variant in its own experiment file (sharing the rest through "
                             "include)");
    }
    if (leaf.key.find('.') == std::string::npos || schema().find(leaf.key) == nullptr) {
      failUnknown(key_origin, leaf.key, KeyScope::kSectionKeys, "grid key");
    }
    const Origin origin = Origin::at(source, leaf.node->source());
    const std::string grid_key = "grid." + leaf.key;
    const toml::array* values = leaf.node->as_array();
    if (values == nullptr) failType(origin, grid_key, "an array of values", *leaf.node);
    if (values->empty()) fail(origin, grid_key, "expected a non-empty array of values");
    Axis axis{leaf.key, source, {}};
    for (const toml::node& element : *values) {
      const Origin at = Origin::at(source, element.source());
      json value = validateValue(leaf.key, element, at);
      for (const Setting& seen : axis.values) {
        if (seen.value == value) fail(at, grid_key, "duplicate value " + value.dump());
      }
      axis.values.push_back({leaf.key, std::move(value), at});
    }
    return axis;
  }

  // A grid axis in the including file replaces the same axis from an include, in place.
  void addAxis(Axis axis) {
    for (Axis& existing : layers_.grid) {
      if (existing.key != axis.key) continue;
      if (existing.file == axis.file) {
        fail(axis.values.front().origin, "grid." + axis.key, "grid key given twice");
      }
      existing = std::move(axis);
      return;
    }
    layers_.grid.push_back(std::move(axis));
  }

  Layers& layers_;
  std::vector<std::string> stack_;
};

}  // namespace

Layers readLayers(const std::string& text, const std::string& source) {
  Layers layers;
  LayerReader(layers).readRoot(text, source);
  return layers;
}

}  // namespace ferlab::config
