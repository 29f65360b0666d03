#include "framework/report/HtmlReport.h"

#include <string>

#include "framework/report/ReportSections.h"

namespace ferlab::report {

std::string renderHtmlReport(const tracking::SqliteStore& store, const ReportOptions& options) {
  using namespace sections;
  const std::string assets_dir =
      options.assets_dir.empty() ? defaultReportAssetsDir() : options.assets_dir;
  // Libraries first: a missing install fails before any store work.
  const std::string libraries = renderLibraries(assets_dir);
  const Json versions = bundleVersions(assets_dir);
  Context context = loadContext(store, options);

  std::string body = renderHeader(context);
  body += renderSummary(context);
  body += renderRunsTable(context);
  body += renderCurves(context);
  body += renderEffects(context);
  body += renderPerClass(context);
  body += renderSignificance(context);
  body += renderSeeds(context);
  body += renderErrors(context);
  body += renderCrossDataset(context);
  body += renderLedger(store, context);
  body += renderProvenance(context, versions);

  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>" + escapeHtml(options.title) + "</title>\n";
  html += "<style>" + std::string(pageStyle()) + "</style>\n";
  html += "</head>\n<body>\n" + body;
  html += "<script type=\"application/json\" id=\"ferlab-specs\">" + scriptJson(context.specs) +
          "</script>\n";
  html += libraries;
  html += "<script>" + std::string(pageScript()) + "</script>\n";
  return html + "</body>\n</html>\n";
}

std::string escapeHtml(const std::string& text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::string base64Encode(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace ferlab::report
