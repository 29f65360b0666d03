#pragma once
// Static figures for `ferlab plot`: Vega-Lite specs (framework/report/Charts.h) drawn to SVG
// by Vega in Node.js (scripts/render_vega.mjs, the pinned vega and vega-lite npm packages)
// and, for PNG, the SVG screenshotted by headless Chromium at twice the CSS pixel size.
// Both programs are found on PATH (or through $FERLAB_NODE / $FERLAB_CHROMIUM) and run
// directly (posix_spawn, no shell), so paths with spaces or quotes are safe.

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
  /// Folder holding vega and vega-lite; empty = defaultAssetsDir() (HtmlReport.h).
  std::string node_modules;
  /// The SVG renderer script; empty = <source>/scripts/render_vega.mjs.
  std::string script;
  double png_scale = 2.0;  ///< device pixels per CSS pixel of the PNG
};

/// Writes `dir`/<name>.svg and/or .png for every figure (creating `dir`) and returns the
/// paths written. Throws DataError naming what is missing (node, chromium, the vega packages,
/// the script: each message says to run scripts/setup.sh), or the figure that failed to render.
std::vector<std::string> renderFigures(const std::vector<Figure>& figures, const std::string& dir,
                                       const FigureOptions& options);

/// The first executable called `name` on PATH, or "" when there is none.
std::string findProgram(const std::string& name);

}  // namespace ferlab::report
