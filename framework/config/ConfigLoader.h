#pragma once
// Experiment configs: TOML in, N resolved runs out.
//
//   experiment.toml --parse--> user table --(--set overrides)--> --(grid cell)-->
//     defaults <- per-model defaults <- user values --validate--> RunConfig
//
// Schema: every key is declared once (framework/config/ConfigKeys.cpp) with its RunConfig
// field, whose type and default are the key's. A key that is not declared is an error; a
// value must have the key's type (an integer is accepted where a float is expected); ranges
// and choices are checked per key. Every error is a
// ConfigError whose message starts with "file:line:column:" (or "--set key:" for overrides),
// names the key and says what was expected.
//
// Top-level keys: `name` (experiment name, default: the file's stem), `description`,
// `include` (list of TOML files, relative to the including file, merged first in order; the
// including file wins), the sections [data] [model] [augment] [balance] [train] [eval], and
// [grid]. Grid keys are dotted config paths (`"train.lr" = [0.01, 0.001]`, or nested tables
// `[grid.train] lr = [...]`) whose values are non-empty arrays; the runs are the Cartesian
// product in the order the keys appear in the file (first key varies slowest), at most
// 10,000 runs.
//
// Arrays of tables: `[[model.head]]` (hidden layers of a backbone's head) and
// `[[train.phases]]` (freeze / fine-tune schedule). Their entry keys are declared like the
// scalar keys; an unknown key inside one is reported as `model.head[1].unitz` (0-based). Entries
// are filled with defaults (a phase's empty name becomes "phase<N>", 1-based), so the
// resolved JSON and the hash hold complete arrays. An array in the including file replaces
// an included one as a whole (`head = []` removes it). Arrays cannot be changed by --set nor
// varied by the grid. With phases, train.epochs is the sum of their epochs; a train.epochs
// set anywhere (file, include, --set, grid) must equal that sum.
//
// Paths in values (data.path, data.cache_dir, model.weights) are kept as written: relative
// ones are relative to the working directory, not to the config file.

#include <string>
#include <utility>
#include <vector>

#include "framework/config/RunConfig.h"

namespace ferlab::config {

/// One cell of the grid, fully resolved.
struct ResolvedRun {
  RunConfig config;
  /// Every key of the resolved config as canonical JSON (sorted keys, no whitespace); the
  /// record of the run. Stable across machines and key order in the source file.
  std::string resolved_json;
  /// 16 hex digits identifying this configuration: hashHex of resolved_json without its
  /// execution keys (executionKeys()), so running a grid on another device, thread count or
  /// evaluation batch size finds the runs it already finished.
  std::string config_hash;
  /// All keys flattened as ("train.lr", "0.001") pairs, sorted by key; values as JSON
  /// scalars without quotes for strings. Array entries give one pair per key
  /// ("model.head[0].units", "128"); a list value stays JSON (`["layer4","head"]`).
  std::vector<std::pair<std::string, std::string>> params;
  /// The (key, value) pairs this run takes from the grid, in grid order.
  std::vector<std::pair<std::string, std::string>> grid_values;
  /// "<experiment>" for a single run, "<experiment>[lr=0.01,name=vggnet]" inside a grid
  /// (last path component of each grid key).
  std::string name;
  int index = 0;  ///< position in the grid, from 0
};

/// A parsed experiment file: its name, where it came from and its runs in grid order. (The
/// runner that trains them is train/GridRunner.h.)
struct ExperimentGrid {
  std::string name;
  std::string source;                  ///< file path, or the name given to parseExperiment
  std::vector<std::string> grid_keys;  ///< dotted keys the grid varies, in order
  std::vector<ResolvedRun> runs;
};

/// Reads and resolves `path`. `overrides` are "dotted.key=value" strings from --set; each
/// value is parsed as a TOML value (`0.001`, `true`, `"x"`, `[1, 2]`) and taken as a bare
/// string when it does not parse (`--set model.name=vggnet`). Overrides apply before the
/// grid; overriding a key the grid varies replaces the grid axis with that single value.
/// Throws ConfigError (unreadable file, TOML syntax, unknown key, wrong type, range).
ExperimentGrid loadExperiment(const std::string& path,
                              const std::vector<std::string>& overrides = {});

/// As loadExperiment, from TOML text; `source` names it in error messages.
ExperimentGrid parseExperiment(const std::string& toml_text, const std::string& source,
                               const std::vector<std::string>& overrides = {});

/// The default configuration as TOML text, every key with its default, allowed values, doc
/// and source, generated from the schema (`ferlab run --print-defaults`).
std::string defaultConfigToml();

/// README's config reference: one Markdown table row per key, generated from the schema
/// (`ferlab run --print-reference`; tests/config/ConfigReferenceTest.cpp keeps README in step).
std::string configReferenceMarkdown();

/// The canonical JSON of `config` (every key, sorted, no whitespace), as resolved_json holds
/// it: for a ResolvedRun, resolvedJson(run.config) == run.resolved_json.
std::string resolvedJson(const RunConfig& config);

/// data.eval_subset of a recorded run (its config_json); 1.0 for records from before the key
/// existed or that cannot be read. Below 1 the run's PublicTest and PrivateTest were thinned:
/// its numbers do not compare with published ones, and ls, show and the report say so.
double evalSubsetOf(const std::string& resolved_json);

/// The keys that say how a run was executed, not what it is (train.device, train.threads,
/// eval.batch_size, ...): recorded in resolved_json, left out of config_hash.
std::vector<std::string> executionKeys();

/// The RunConfig of a recorded run from its ResolvedRun::resolved_json (the store's
/// config_json); keys missing from older records take today's defaults. `source` names the
/// run in errors. Throws ConfigError (not JSON, a value of the wrong type).
RunConfig runConfigFromResolvedJson(const std::string& resolved_json, const std::string& source);

}  // namespace ferlab::config
