// The documentation generated from the config schema: the default TOML printed by
// `ferlab run --print-defaults`, and the Markdown config reference README.md carries (checked
// by tests/config/ConfigReferenceTest.cpp; rewritten by scripts/update_config_reference.sh).

#include <sstream>

#include "framework/config/ConfigLoader.h"
#include "framework/config/ConfigSchema.h"

namespace ferlab::config {
namespace {

constexpr std::size_t kCommentColumn = 30;
constexpr std::size_t kWidth = 100;

/// A default as TOML: JSON's scalars and string arrays are valid TOML as written.
std::string tomlValue(const json& value) {
  return value.dump();
}

/// `text` broken into lines of at most `width` characters, on spaces.
std::vector<std::string> wrap(const std::string& text, std::size_t width) {
  std::vector<std::string> lines;
  std::istringstream words(text);
  std::string word, line;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string sectionOf(const std::string& key) {
  const auto dot = key.find('.');
  return dot == std::string::npos ? "" : key.substr(0, dot);
}

/// The allowed values as documented: the rule's text, or what the type allows.
std::string allowedText(const KeyInfo& info) {
  if (!info.rule.text.empty()) return info.rule.text;
  if (info.type == ValueType::Boolean) return "true | false";
  if (info.type == ValueType::String) return "any string";
  return "";
}

/// "allowed: doc [execution] (source)" for a key's comment.
std::string commentOf(const KeyInfo& info) {
  // The allowed values first, so a wrapped doc line never splits a range.
  const std::string allowed = allowedText(info);
  std::string comment = allowed.empty() ? info.doc : allowed + ": " + info.doc;
  if (info.role == KeyRole::Execution) comment += " [execution]";
  if (info.role == KeyRole::Annotation) comment += " [annotation]";
  if (!info.source.empty()) comment += " (" + info.source + ")";
  return comment;
}

/// `key = value  # comment` (the key without its section), the comment wrapped under itself; then
/// one line per documented choice.
void writeKey(std::ostringstream& out, const std::string& prefix, const KeyInfo& info) {
  std::string line =
      prefix + info.key.substr(info.key.find('.') + 1) + " = " + tomlValue(info.default_value);
  const std::size_t column = std::max(kCommentColumn, line.size() + 2);
  const std::string indent = prefix + std::string(column - prefix.size(), ' ') + "# ";
  line += std::string(column - line.size(), ' ') + "# ";
  bool first = true;
  for (const std::string& part : wrap(commentOf(info), kWidth - column - 2)) {
    out << (first ? line : indent) << part << "\n";
    first = false;
  }
  if (first) out << line.substr(0, line.find_last_not_of(" #") + 1) << "\n";
  for (const auto& [name, doc] : info.choices) {
    if (!doc.empty() && !name.empty()) out << indent << "  " << name << ": " << doc << "\n";
  }
}

void writeComment(std::ostringstream& out, const std::string& text) {
  for (const std::string& line : wrap(text, kWidth - 2)) out << "# " << line << "\n";
}

void writeModelDefaults(std::ostringstream& out) {
  out << "# Per-model defaults replace batch_norm, conv_dropout and fc_dropout when the config\n"
         "# does not set them:\n";
  for (const auto& choice : ChoiceTable<ModelName>::entries()) {
    const ModelDefaults d = modelDefaults(choice.value);
    out << "#   " << choice.name << ": batch_norm = " << (d.batch_norm ? "true" : "false")
        << ", conv_dropout = " << tomlValue(d.conv_dropout)
        << ", fc_dropout = " << tomlValue(d.fc_dropout) << "\n";
  }
}

void writeArray(std::ostringstream& out, const ArrayKey& array) {
  writeComment(out, array.doc + " One table per entry, every key optional:");
  out << "# [[" << array.key << "]]\n";
  for (const KeyInfo& info : array.entry) writeKey(out, "# ", info);
}

std::string escapeCell(const std::string& text) {
  std::string escaped;
  for (char c : text) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
  return escaped;
}

std::string markdownRow(const std::string& key, const KeyInfo& info) {
  const std::string allowed = escapeCell(allowedText(info));
  std::string meaning = escapeCell(info.doc);
  for (const auto& [name, doc] : info.choices) {
    if (!doc.empty() && !name.empty()) meaning += "; `" + name + "`: " + escapeCell(doc);
  }
  if (!info.source.empty()) meaning += ". Source: " + escapeCell(info.source);
  if (info.role == KeyRole::Execution) meaning += ". *Execution setting: not in the run id*";
  if (info.role == KeyRole::Annotation) meaning += ". *Annotation: not in the run id*";
  return "| `" + key + "` | `" + escapeCell(tomlValue(info.default_value)) + "` | " + allowed +
         " | " + meaning + " |\n";
}

}  // namespace

std::string defaultConfigToml() {
  std::ostringstream out;
  writeComment(out,
               "FERLab default configuration, generated from the config schema "
               "(framework/config/ConfigKeys.cpp): every key with its default and allowed "
               "values. An experiment file sets only what differs from here; `--set "
               "section.key=value` overrides. Other top-level keys: include = [\"base.toml\"] "
               "(merged first, relative to the including file) and [grid] (\"section.key\" = "
               "[v1, v2, ...]; the runs are the Cartesian product). Keys marked [execution] are "
               "recorded with a run but are not part of its identity, and so are [annotation] "
               "keys (the description, the reproduced reference): changing one does not "
               "retrain a finished run.");
  out << "\n";
  std::string section;
  const auto finishSection = [&] {
    for (const ArrayKey& array : schema().arrays()) {
      if (sectionOf(array.key) == section) writeArray(out, array);
    }
  };
  for (const Key& key : schema().keys()) {
    const std::string next = sectionOf(key.key);
    if (next != section) {
      finishSection();
      section = next;
      out << "\n[" << section << "]\n";
    }
    writeKey(out, "", key);
    if (key.key == "model.name") writeModelDefaults(out);
  }
  finishSection();
  return out.str();
}

std::string configReferenceMarkdown() {
  std::ostringstream out;
  out << "| key | default | allowed | meaning |\n|---|---|---|---|\n";
  std::string section;
  for (const Key& key : schema().keys()) {
    out << markdownRow(key.key, key);
    section = sectionOf(key.key);
    const Schema& all = schema();
    // Arrays follow the last key of their section.
    const auto next = &key + 1;
    const bool last_of_section =
        next == all.keys().data() + all.keys().size() || sectionOf(next->key) != section;
    if (!last_of_section) continue;
    for (const ArrayKey& array : all.arrays()) {
      if (sectionOf(array.key) != section) continue;
      out << "| `[[" << array.key << "]]` | none | | " << escapeCell(array.doc) << " |\n";
      for (const KeyInfo& info : array.entry)
        out << markdownRow(array.key + "[]." + info.key, info);
    }
  }
  out << "\nPer-model defaults (applied when the config does not set them):\n\n"
         "| model.name | batch_norm | conv_dropout | fc_dropout |\n|---|---|---|---|\n";
  for (const auto& choice : ChoiceTable<ModelName>::entries()) {
    const ModelDefaults d = modelDefaults(choice.value);
    out << "| `" << choice.name << "` | " << (d.batch_norm ? "true" : "false") << " | "
        << tomlValue(d.conv_dropout) << " | " << tomlValue(d.fc_dropout) << " |\n";
  }
  return out.str();
}

}  // namespace ferlab::config
