// HTML building blocks shared by the report's sections: number and text formatting, table
// cells, section headings, chart placeholders and JSON for <script> blocks.

#include "framework/report/ReportSections.h"

#include <cmath>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

namespace ferlab::report::sections {
namespace {

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
  return text;
}

}  // namespace

// The store uses -1 (and NaN) for "not recorded".
bool isKnown(double value) {
  return std::isfinite(value) && value >= 0;
}

// JSON for a <script> block. nlohmann escapes quotes and control characters but not "<",
// so a run named "</script>" would end the block: \u003c is the same string to JSON.parse.
// Invalid UTF-8 in user strings is replaced rather than thrown on.
std::string scriptJson(const Json& value) {
  const std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return replaceAll(text, "<", "\\u003c");
}

std::string percentText(double fraction) {
  return isKnown(fraction) ? fmt::format("{:.2f}%", 100.0 * fraction) : kMissing;
}
std::string fractionText(double value) {
  return isKnown(value) ? fmt::format("{:.4f}", value) : kMissing;
}
std::string intervalText(const Interval& interval, bool percent) {
  if (percent) {
    return fmt::format("{:.2f}% [{:.2f}, {:.2f}]", 100 * interval.estimate, 100 * interval.low,
                       100 * interval.high);
  }
  return fmt::format("{:.4f} [{:.4f}, {:.4f}]", interval.estimate, interval.low, interval.high);
}
std::string pText(double p) {
  if (!std::isfinite(p)) return kMissing;
  return p < 1e-4 ? fmt::format("{:.1e}", p) : fmt::format("{:.4f}", p);
}

// A table cell whose data-sort carries the raw number ("" when unknown, sorted last).
std::string numberCell(double value, const std::string& text, bool known) {
  const std::string sort = known ? fmt::format("{}", value) : "";
  return fmt::format("<td class=\"num\" data-sort=\"{}\">{}</td>", sort, escapeHtml(text));
}
std::string numberCell(double value, const std::string& text) {
  return numberCell(value, text, isKnown(value));
}

std::string textCell(const std::string& text, const std::string& title,
                     const std::string& css_class) {
  const std::string shown = text.empty() ? kMissing : text;
  const std::string title_attr = title.empty() ? "" : " title=\"" + escapeHtml(title) + "\"";
  const std::string class_attr = css_class.empty() ? "" : " class=\"" + css_class + "\"";
  return fmt::format("<td{} data-sort=\"{}\"{}>{}</td>", class_attr, escapeHtml(text), title_attr,
                     escapeHtml(shown));
}

const std::vector<std::pair<std::string, std::string>>& sectionTitles() {
  static const std::vector<std::pair<std::string, std::string>> titles = {
      {"summary", "1 Summary"},
      {"runs", "2 Runs"},
      {"curves", "3 Learning curves"},
      {"effects", "4 Effects"},
      {"per-class", "5 Per-class"},
      {"significance", "6 Significance"},
      {"seeds", "7 Seeds"},
      {"errors", "8 Errors gallery"},
      {"cross-dataset", "9 Cross-dataset"},
      {"ledger", "10 Claimed vs obtained"},
      {"provenance", "11 Provenance"}};
  return titles;
}

std::string openSection(const std::string& id) {
  for (const auto& [section, title] : sectionTitles()) {
    if (section == id) return fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", id, title);
  }
  return fmt::format("<section id=\"{}\">\n", id);
}

std::string chartDiv(const std::string& id) {
  return fmt::format("<div class=\"chart\" id=\"{}\"></div>", id);
}

}  // namespace ferlab::report::sections
