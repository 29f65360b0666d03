#pragma once
// Files FERLab reads at run time that are not inputs of a command: the report's chart
// bundle (reports/assets/), the Python environment and script that draw static figures
// (.venv/bin/python, scripts/render_vega.py). They are found relative to the running
// executable, never through a path compiled into the binary, so a copied or installed
// `ferlab` works wherever its resources are laid out beside it:
//
//   <root>/bin-or-build/ferlab      the executable (/proc/self/exe)
//   <root>/reports/assets/          vega-bundle.js, vega-bundle.json
//   <root>/.venv/bin/python         Python with vl-convert-python
//   <root>/scripts/render_vega.py
//
// In a checkout the executable is build/ferlab, so <root> is the checkout itself. An
// environment variable, where one exists for a resource, overrides the lookup.

#include <optional>
#include <string>

namespace ferlab::core {

/// A file or folder found under the resource root.
struct Resource {
  const char* what;         ///< for messages: "the report's chart libraries"
  const char* relative;     ///< path under the root: "reports/assets"
  const char* env;          ///< variable that overrides the lookup, or nullptr
  const char* how_to_make;  ///< what writes it, for messages: "run scripts/setup.sh"
};

/// The running executable's absolute path, from /proc/self/exe; nullopt when it cannot be
/// read (no /proc). Never throws.
std::optional<std::string> executablePath();

/// The resource root for an executable at `executable`: the parent of its folder
/// (/x/build/ferlab -> /x). Pure path arithmetic; never throws.
std::string resourceRoot(const std::string& executable);

/// The resource root of the running executable; nullopt without /proc. Never throws.
std::optional<std::string> resourceRoot();

/// $resource.env verbatim when that variable is set and not empty (its user answers for
/// it), else <resourceRoot(executable)>/<resource.relative> when it exists. Throws
/// DataError naming what was looked for, the path tried, the executable it was derived
/// from, the variable that overrides it and resource.how_to_make.
std::string findResource(const Resource& resource, const std::string& executable);

/// findResource for the running executable (executablePath()). Throws DataError as above,
/// or when the executable's path cannot be read.
std::string findResource(const Resource& resource);

}  // namespace ferlab::core
