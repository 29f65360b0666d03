#pragma once
// Static figures for `ferlab plot`: Vega-Lite specs (framework/report/Charts.h) drawn to SVG
// and PNG by vl-convert (vl-convert-python, pinned in scripts/python.lock: Vega and Vega-Lite
// run in an embedded Deno, PNGs are rasterised by resvg; no browser, no Node.js), through
// scripts/render_vega.py in the project's Python environment. Python is run directly
// (posix_spawn, no shell), so paths with spaces or quotes are safe.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ferlab::report {

/// One figure: `name` is the file stem ("confusion-matrix-3f2a1b0c9d8e"), `spec` a complete
/// Vega-Lite spec with inline data.
struct Figure {
  std::string name;
  nlohmann::json spec;
};

struct FigureOptions {
  bool svg = true, png = false;  ///< formats to write (at least one)
  /// The Python interpreter that has vl-convert-python; empty = defaultPython().
  std::string python;
  /// The renderer script; empty = <root>/scripts/render_vega.py beside the running
  /// executable (core/ResourcePaths.h).
  std::string script;
  double png_scale = 2.0;  ///< device pixels per CSS pixel of the PNG (> 0)
};

/// $FERLAB_PYTHON when set and not empty, else <root>/.venv/bin/python beside the running
/// executable (the environment scripts/setup.sh creates; core/ResourcePaths.h). Throws
/// DataError naming the path looked for and FERLAB_PYTHON when it does not exist.
std::string defaultPython();

/// Writes `dir`/<name>.svg and/or .png for every figure (creating `dir`) and returns the
/// paths written. A PNG is `png_scale` times the SVG's CSS-pixel size. Throws DataError naming
/// what is missing (the Python interpreter, the script, the vl-convert-python package: each
/// message says where it was looked for and how to make it), or the figure that failed to
/// render.
std::vector<std::string> renderFigures(const std::vector<Figure>& figures, const std::string& dir,
                                       const FigureOptions& options);

}  // namespace ferlab::report
