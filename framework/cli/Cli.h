#pragma once
// The `ferlab` command line: `main` parses the subcommand and calls into the library
// (DESIGN.md, "library plus main"). Exit codes: 0 ok, 2 usage or config error, 1 runtime
// failure (any failed run included). Errors print as one line on stderr.

#include <string>
#include <vector>

namespace ferlab::cli {

/// Entry point: dispatches argv to a subcommand, catches every error. Returns the exit code.
int main(int argc, char** argv);

// One function per subcommand; `args` excludes the program and subcommand names. Each
// throws UsageError / ConfigError / StoreError / ... and returns its exit code.
int runCommand(const std::vector<std::string>& args);
int listCommand(const std::vector<std::string>& args);
int showCommand(const std::vector<std::string>& args);
int reportCommand(const std::vector<std::string>& args);
int predictCommand(const std::vector<std::string>& args);
int evaluateCommand(const std::vector<std::string>& args);
int exportCommand(const std::vector<std::string>& args);
int plotCommand(const std::vector<std::string>& args);
int augmentPreviewCommand(const std::vector<std::string>& args);
int versionCommand(const std::vector<std::string>& args);
int ledgerCommand(const std::vector<std::string>& args);
int archiveCommand(const std::vector<std::string>& args);
int importCommand(const std::vector<std::string>& args);
int ensembleCommand(const std::vector<std::string>& args);
int mergeCommand(const std::vector<std::string>& args);
int syncCommand(const std::vector<std::string>& args);
int submitCommand(const std::vector<std::string>& args);

}  // namespace ferlab::cli
