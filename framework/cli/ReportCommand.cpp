#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/cli/SelectionOptions.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/report/HtmlReport.h"

namespace ferlab::cli {

int reportCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::string db_path, output;
  SelectionArgs selection;
  report::ReportOptions report_options;
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("output,o", po::value(&output)->required(), "HTML file to write, e.g. reports/quickstart.html")
      ("title", po::value(&report_options.title)->default_value(report_options.title), "page title")
      ("resamples", po::value(&report_options.bootstrap_resamples)->default_value(report_options.bootstrap_resamples), "bootstrap resamples per interval (>= 1000)")
      ("gallery", po::value(&report_options.gallery_size)->default_value(report_options.gallery_size), "images in the errors gallery")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)");
  // clang-format on
  po::positional_options_description positional;
  addSelectionOptions(options, positional, selection);
  po::variables_map values;
  if (!parseCommandLine(
          args, options, positional,
          "usage: ferlab report [RUN]... [--experiment NAME]... [--where KEY=VALUE]... "
          "-o FILE.html [--db PATH]",
          values)) {
    return 0;
  }
  if (report_options.bootstrap_resamples < 1000) {
    throw UsageError(
        fmt::format("--resamples {}: must be at least 1000", report_options.bootstrap_resamples));
  }
  report_options.selection = toSelection(selection);
  const tracking::SqliteStore store(db_path, tracking::OpenMode::ReadOnly);
  const auto html = report::renderHtmlReport(store, report_options);
  const std::filesystem::path parent = std::filesystem::path(output).parent_path();
  std::error_code ignored;
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
  std::ofstream file(output, std::ios::binary);
  if (!file) throw UsageError(fmt::format("{}: cannot write the report", output));
  file << html;
  if (!file.flush()) throw DataError(fmt::format("{}: write failed", output));
  log::info("report written to {} ({} KiB)", output, html.size() / 1024);
  return 0;
}

}  // namespace ferlab::cli
