#include "framework/cli/CommandLine.h"

#include <cstdlib>
#include <iostream>

#include "framework/core/Errors.h"

namespace ferlab::cli {

bool parseCommandLine(const std::vector<std::string>& args, const po::options_description& options,
                      const po::positional_options_description& positional,
                      const std::string& usage, po::variables_map& values) {
  po::options_description with_help(options);
  with_help.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(with_help).positional(positional).run(),
              values);
    if (values.count("help")) {
      std::cout << usage << "\n\n" << with_help << "\n";
      return false;
    }
    po::notify(values);
  } catch (const po::error& error) {
    throw UsageError(std::string(error.what()) + " (see --help)");
  }
  return true;
}

std::string defaultDbPath() {
  const char* path = std::getenv("FERLAB_DB");
  return path != nullptr && *path != '\0' ? path : "results/ferlab.db";
}

}  // namespace ferlab::cli
