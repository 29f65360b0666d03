#pragma once
// The report module's public API: the store's runs as a self-contained HTML report, figures and
// statistics. Internal to the module: ReportSections.h (the per-section builders).

#include "framework/report/Charts.h"          // Vega-Lite chart specifications
#include "framework/report/Ensemble.h"        // ferlab ensemble: stored probabilities averaged
#include "framework/report/FigureRenderer.h"  // SVG/PNG figures through vl-convert
#include "framework/report/HtmlReport.h"      // writeHtmlReport
#include "framework/report/RunSelection.h"    // which runs a report or export covers
#include "framework/report/Statistics.h"      // McNemar, paired bootstrap, intervals
