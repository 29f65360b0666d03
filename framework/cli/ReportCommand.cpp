#include <fstream>

#include <fmt/format.h>

#include "framework/cli/Cli.h"
#include "framework/cli/CommandLine.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"
#include "framework/report/HtmlReport.h"

namespace ferlab::cli {

int reportCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  std::string db_path, output;
  report::ReportOptions report_options;
  // One option per line reads like the --help it produces.
  // clang-format off
  options.add_options()
      ("output,o", po::value(&output)->required(), "HTML file to write, e.g. reports/quickstart.html")
      ("experiment,e", po::value(&report_options.experiment), "only runs of this experiment")
      ("run", po::value(&report_options.run_ids)->composing(), "only this run (repeatable; id or unique prefix)")
      ("title", po::value(&report_options.title)->default_value(report_options.title), "page title")
      ("db", po::value(&db_path)->default_value(defaultDbPath()), "tracking store (SQLite)");
  // clang-format on
  po::variables_map values;
  if (!parseCommandLine(
          args, options, {},
          "usage: ferlab report [--experiment NAME] [--run ID]... -o FILE.html [--db PATH]",
          values)) {
    return 0;
  }
  const tracking::SqliteStore store(db_path);
  const auto html = report::renderHtmlReport(store, report_options);
  std::ofstream file(output, std::ios::binary);
  if (!file) throw UsageError(fmt::format("{}: cannot write the report", output));
  file << html;
  if (!file.flush()) throw DataError(fmt::format("{}: write failed", output));
  log::info("report written to {} ({} KiB)", output, html.size() / 1024);
  return 0;
}

}  // namespace ferlab::cli
