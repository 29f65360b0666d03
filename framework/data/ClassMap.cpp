#include "framework/data/ClassMap.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "framework/core/Errors.h"
#include "framework/core/Log.h"

namespace ferlab::data {
namespace {

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

std::string trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return std::string(text);
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  return list;
}

/// Index of `name` among `names`, compared case-insensitively.
std::optional<int> findName(const std::vector<std::string>& names, const std::string& name) {
  const std::string wanted = lower(name);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (lower(names[i]) == wanted) return static_cast<int>(i);
  }
  return std::nullopt;
}

}  // namespace

ClassMapRule parseClassMapRule(const std::string& text, const std::string& origin) {
  const std::size_t equals = text.find('=');
  if (equals == std::string::npos) {
    throw ConfigError(
        fmt::format("{}: '{}' is not a class-map rule (expected dataset_class=model_class, or "
                    "dataset_class= to drop it)",
                    origin, text));
  }
  ClassMapRule rule{trim(std::string_view(text).substr(0, equals)),
                    trim(std::string_view(text).substr(equals + 1)), origin};
  if (rule.dataset_class.empty()) {
    throw ConfigError(fmt::format("{}: '{}' names no dataset class before '='", origin, text));
  }
  return rule;
}

std::vector<ClassMapRule> readClassMapFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot read class-map file", path));
  std::vector<ClassMapRule> rules;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string text = trim(line.substr(0, line.find('#')));
    if (text.empty()) continue;
    rules.push_back(parseClassMapRule(text, fmt::format("{}:{}", path, number)));
  }
  if (in.bad()) throw ConfigError(fmt::format("{}: cannot read class-map file", path));
  return rules;
}

std::vector<int> ClassMapping::keptModelClasses() const {
  std::vector<int> kept;
  for (const int index : model_index) {
    if (index >= 0 && std::find(kept.begin(), kept.end(), index) == kept.end())
      kept.push_back(index);
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

std::vector<std::string> ClassMapping::droppedClasses() const {
  std::vector<std::string> dropped;
  for (std::size_t i = 0; i < dataset_classes.size(); ++i) {
    if (model_index[i] < 0) dropped.push_back(dataset_classes[i]);
  }
  return dropped;
}

std::string ClassMapping::canonicalJson() const {
  nlohmann::json object = nlohmann::json::object();  // std::map underneath: keys sorted
  for (std::size_t i = 0; i < dataset_classes.size(); ++i) {
    const int index = model_index[i];
    object[dataset_classes[i]] =
        index < 0 ? nlohmann::json(nullptr)
                  : nlohmann::json(model_classes[static_cast<std::size_t>(index)]);
  }
  return object.dump();
}

ClassMapping resolveClassMap(const std::vector<std::string>& dataset_classes,
                             const std::vector<std::string>& model_classes,
                             const std::vector<ClassMapRule>& rules) {
  // Every value must be a model class, whether or not this dataset uses the rule: a typo in
  // a map file is found on the first dataset it meets.
  std::vector<std::string> bad_values;
  for (const ClassMapRule& rule : rules) {
    if (!rule.model_class.empty() && !findName(model_classes, rule.model_class)) {
      bad_values.push_back(fmt::format("'{}' ({})", rule.model_class, rule.origin));
    }
  }
  if (!bad_values.empty()) {
    throw ConfigError(fmt::format(
        "class map: {} {} of the model (its classes: {})", joinNames(bad_values),
        bad_values.size() == 1 ? "is not a class" : "are not classes", joinNames(model_classes)));
  }

  // The last rule for a dataset class wins, matched case-insensitively.
  std::map<std::string, const ClassMapRule*> by_class;
  for (const ClassMapRule& rule : rules) by_class[lower(rule.dataset_class)] = &rule;
  for (const auto& [name, rule] : by_class) {
    if (!findName(dataset_classes, name)) {
      log::warn("class map: {} names '{}', which this dataset does not have; ignored", rule->origin,
                rule->dataset_class);
    }
  }

  ClassMapping mapping;
  mapping.dataset_classes = dataset_classes;
  mapping.model_classes = model_classes;
  for (const std::string& name : dataset_classes) {
    const auto rule = by_class.find(lower(name));
    if (rule != by_class.end()) {
      mapping.model_index.push_back(rule->second->model_class.empty()
                                        ? -1
                                        : *findName(model_classes, rule->second->model_class));
      continue;
    }
    const std::optional<int> same = findName(model_classes, name);
    if (!same) {
      throw DataError(fmt::format(
          "dataset class '{}' is not a class of the model (its classes: {}); map it with "
          "--map {}=CLASS or drop it with --map {}=",
          name, joinNames(model_classes), name, name));
    }
    mapping.model_index.push_back(*same);
  }
  return mapping;
}

}  // namespace ferlab::data
