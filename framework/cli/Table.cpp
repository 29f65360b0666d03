#include "framework/cli/Table.h"

#include <algorithm>

#include <fmt/format.h>

namespace ferlab::cli {

std::string TextTable::render() const {
  std::vector<std::size_t> widths(header_.size(), 0);
  const auto widen = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  };
  widen(header_);
  for (const auto& row : rows_) widen(row);
  std::string out;
  const auto append = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += fmt::format("{:<{}}", cell, widths[i]);
      if (i + 1 < widths.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  append(header_);
  std::vector<std::string> rule;
  for (const auto width : widths) rule.emplace_back(width, '-');
  append(rule);
  for (const auto& row : rows_) append(row);
  return out;
}

std::string percentOrDash(double fraction) {
  return fraction < 0 ? "-" : fmt::format("{:.2f}%", 100.0 * fraction);
}

std::string numberOrDash(double value, int digits) {
  return value < 0 ? "-" : fmt::format("{:.{}f}", value, digits);
}

}  // namespace ferlab::cli
