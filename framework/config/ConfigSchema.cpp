#include "framework/config/ConfigSchema.h"

#include <stdexcept>

namespace ferlab::config {

const KeyInfo* ArrayKey::find(const std::string& name) const {
  for (const KeyInfo& info : entry) {
    if (info.key == name) return &info;
  }
  return nullptr;
}

json::json_pointer pointerTo(const std::string& key) {
  const auto dot = key.find('.');
  if (dot == std::string::npos) return json::json_pointer("/" + key);
  return json::json_pointer("/" + key.substr(0, dot) + "/" + key.substr(dot + 1));
}

Schema::Schema() : keys_(declareKeys()), arrays_(declareArrays()) {
  const RunConfig defaults;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    Key& key = keys_[i];
    if (!index_.emplace(key.key, i).second)
      throw std::logic_error("config schema: key declared twice: " + key.key);
    key.default_value = key.read(defaults);
    defaults_[pointerTo(key.key)] = key.default_value;
  }
  for (const ArrayKey& array : arrays_) {
    if (index_.count(array.key) != 0)
      throw std::logic_error("config schema: key declared twice: " + array.key);
    defaults_[pointerTo(array.key)] = json::array();
  }
}

const Key* Schema::find(const std::string& key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &keys_[it->second];
}

const ArrayKey* Schema::findArray(const std::string& key) const {
  for (const ArrayKey& array : arrays_) {
    if (array.key == key) return &array;
  }
  return nullptr;
}

const ArrayKey* Schema::arrayOf(const std::string& key) const {
  for (const ArrayKey& array : arrays_) {
    const std::size_t n = array.key.size();
    if (key.compare(0, n, array.key) == 0 && (key.size() == n || key[n] == '[' || key[n] == '.'))
      return &array;
  }
  return nullptr;
}

bool Schema::isSection(const std::string& name) const {
  return defaults_.contains(name) && defaults_[name].is_object();
}

const Schema& schema() {
  static const Schema instance;
  return instance;
}

}  // namespace ferlab::config
