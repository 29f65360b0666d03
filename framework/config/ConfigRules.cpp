#include "framework/config/ConfigRules.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <set>
#include <sstream>

namespace ferlab::config {
namespace {

using nlohmann::json;

std::size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool sameSection(const std::string& a, const std::string& b) {
  const auto dot = a.find('.');
  return dot != std::string::npos && b.compare(0, dot + 1, a, 0, dot + 1) == 0;
}

std::string rangeText(double low, bool low_open, double high, bool high_open) {
  if (std::isinf(high)) return (low_open ? "> " : ">= ") + formatNumber(low);
  return std::string(low_open ? "(" : "[") + formatNumber(low) + ", " + formatNumber(high) +
         (high_open ? ")" : "]");
}

/// One train.phases trainable entry: all | head | none | a dotted block name or prefix
/// ("layer4", "features.24"), the latter optionally with a trailing "+" (or ":", the seeds'
/// "features.24:" notation) for that block and every later one. Syntax only: the model
/// checks that the blocks exist.
bool trainableSyntax(const std::string& text) {
  if (text == "all" || text == "head" || text == "none") return true;
  std::string name = text;
  if (!name.empty() && (name.back() == '+' || name.back() == ':')) name.pop_back();
  if (name.empty() || name == "all" || name == "head" || name == "none") return false;
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string::npos)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
  });
}

}  // namespace

std::string formatNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string lastComponent(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

// Like is compared with like: within one section only the part after the dot counts, and a
// word without a section also matches a key's last component, so a stray top-level `lr`
// suggests 'train.lr'.
std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates) {
  std::size_t best_distance = SIZE_MAX;
  std::string best;
  for (const auto& candidate : candidates) {
    std::string typed = word;
    std::size_t distance = editDistance(word, candidate);
    if (sameSection(word, candidate)) {
      typed = lastComponent(word);
      distance = editDistance(typed, lastComponent(candidate));
    } else if (word.find('.') == std::string::npos) {
      distance = std::min(distance, editDistance(word, lastComponent(candidate)));
    }
    const std::size_t limit = typed.size() <= 3 ? 1 : std::max<std::size_t>(2, typed.size() / 3);
    if (distance <= limit && distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

Rule anyValue() {
  return {[](const json&) { return std::string(); }, ""};
}

Rule intRange(std::int64_t low, std::int64_t high) {
  const std::string documented =
      high >= INT32_MAX ? ">= " + std::to_string(low)
                        : "[" + std::to_string(low) + ", " + std::to_string(high) + "]";
  return {[=](const json& value) -> std::string {
            const auto x = value.get<std::int64_t>();
            if (x >= low && x <= high) return {};
            // The upper bound is only news to someone who went past it.
            const bool unbounded = high == INT64_MAX || (high == INT32_MAX && x < low);
            const std::string range =
                unbounded ? ">= " + std::to_string(low)
                          : "in [" + std::to_string(low) + ", " + std::to_string(high) + "]";
            return "expected an integer " + range + ", got " + std::to_string(x);
          },
          documented};
}

Rule floatRange(double low, bool low_open, double high, bool high_open) {
  const std::string documented = rangeText(low, low_open, high, high_open);
  return {[=](const json& value) -> std::string {
            const double x = value.get<double>();
            const bool above = low_open ? x > low : x >= low;
            const bool below = high_open ? x < high : x <= high;
            if (above && below) return {};
            const std::string range = std::isinf(high) ? documented : "in " + documented;
            return "expected a float " + range + ", got " + formatNumber(x);
          },
          documented};
}

Rule probability() {
  return floatRange(0, false, 1, false);
}
Rule rate() {
  return floatRange(0, false, 1, true);
}
Rule nonNegative() {
  return floatRange(0, false, INFINITY, false);
}
Rule positive() {
  return floatRange(0, true, INFINITY, false);
}

Rule oneOf(std::vector<std::string> allowed) {
  std::string documented;
  for (const auto& option : allowed)
    documented += (documented.empty() ? "" : " | ") + (option.empty() ? "\"\"" : option);
  return {[allowed](const json& value) -> std::string {
            const auto text = value.get<std::string>();
            if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) return {};
            std::string list;
            for (const auto& option : allowed)
              list += (list.empty() ? "" : ", ") + (option.empty() ? std::string("\"\"") : option);
            return "expected one of " + list + ", got '" + text + "'" + didYouMean(text, allowed);
          },
          documented};
}

Rule nonEmpty() {
  return {[](const json& value) -> std::string {
            return value.get<std::string>().empty() ? "expected a non-empty string" : "";
          },
          "non-empty"};
}

Rule httpUrlOrEmpty() {
  return {[](const json& value) -> std::string {
            const auto text = value.get<std::string>();
            if (text.empty() || text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0)
              return {};
            return "expected \"\" or an http:// or https:// URI, got '" + text + "'";
          },
          "\"\" | http(s)://host:port"};
}

Rule experimentName() {
  return {[](const json& value) -> std::string {
            const auto text = value.get<std::string>();
            if (!text.empty() && text.find_first_of("/\\") == std::string::npos) return {};
            return "expected a non-empty name without '/' or '\\', got '" + text + "'";
          },
          "non-empty, no / or \\"};
}

Rule inputSize() {
  return {[](const json& value) -> std::string {
            const auto x = value.get<std::int64_t>();
            if (x == 0 || (x >= 32 && x <= INT_MAX)) return {};
            const std::string range =
                x > INT_MAX ? "in [32, " + std::to_string(INT_MAX) + "]" : ">= 32";
            return "expected 0 or an integer " + range + ", got " + std::to_string(x);
          },
          "0 or >= 32"};
}

Rule trainableList() {
  return {[](const json& value) -> std::string {
            std::set<std::string> seen;
            for (const json& item : value) {
              const auto text = item.get<std::string>();
              if (!trainableSyntax(text)) {
                return "expected all, head, none or a block name or prefix with an optional "
                       "trailing '+' (\"layer3+\"), got '" +
                       text + "'";
              }
              if (!seen.insert(text).second) return "'" + text + "' is listed twice";
            }
            for (const char* alone : {"all", "none"}) {
              if (value.size() > 1 && seen.count(alone) != 0)
                return std::string("'") + alone + "' must be the only entry, got " + value.dump();
            }
            return {};
          },
          "all | head | none | block names or prefixes; \"layer3+\" = that block and every later "
          "one"};
}

Rule deviceName() {
  return {[](const json& value) -> std::string {
            const auto text = value.get<std::string>();
            if (text == "auto" || text == "cpu" || text == "cuda") return {};
            const std::string prefix = "cuda:";
            const std::string index = text.substr(0, prefix.size()) == prefix ? text.substr(5) : "";
            const bool digits = !index.empty() && index.size() <= 3 &&
                                std::all_of(index.begin(), index.end(),
                                            [](char c) { return c >= '0' && c <= '9'; });
            if (digits) return {};
            return "expected auto, cpu, cuda or cuda:N, got '" + text + "'";
          },
          "auto | cpu | cuda | cuda:N"};
}

}  // namespace ferlab::config
