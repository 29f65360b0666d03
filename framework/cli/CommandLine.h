#pragma once
// Boost.Program_options glue shared by the subcommands: parsing with errors turned into
// UsageError, and the --help text.

#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace ferlab::cli {

namespace po = boost::program_options;

/// Parses `args` against `options` (+ `positional`). Returns false when --help was given
/// (after printing `usage` and the options to stdout). Throws UsageError naming the bad
/// argument.
bool parseCommandLine(const std::vector<std::string>& args, const po::options_description& options,
                      const po::positional_options_description& positional,
                      const std::string& usage, po::variables_map& values);

/// The default store path: $FERLAB_DB, else results/ferlab.db.
std::string defaultDbPath();

}  // namespace ferlab::cli
