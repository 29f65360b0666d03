// libFuzzer harness: experiment configs (config/ConfigLoader.h), with include, --set
// overrides and [grid]. The input is up to three parts separated by a line "#--":
//   1. the experiment file, written as main.toml;
//   2. a file it may include, written as inc.toml (include = ["inc.toml"]);
//   3. --set overrides, one "dotted.key=value" per line.
// A plain TOML file is a valid input. Bad input must end in ConfigError; any other
// exception, crash, hang or sanitizer report is a finding.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"
#include "tests/fuzz/FuzzInput.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fuzz = ferlab::fuzz;
  const auto parts =
      fuzz::splitParts(std::string(reinterpret_cast<const char*>(data), size), "\n#--\n");
  const std::string main_path = fuzz::writeTemp("main.toml", parts[0]);
  fuzz::writeTemp("inc.toml", parts.size() > 1 ? parts[1] : std::string());
  std::vector<std::string> overrides;
  if (parts.size() > 2) overrides = fuzz::splitParts(parts[2], "\n");
  try {
    const auto grid = ferlab::config::loadExperiment(main_path, overrides);
    // What run and ls do next with every cell: its JSON record must read back.
    for (const auto& run : grid.runs)
      ferlab::config::runConfigFromResolvedJson(run.resolved_json, run.name);
  } catch (const ferlab::ConfigError&) {
  }
  return 0;
}
