#pragma once
// The core module's public API: what every other module builds on. Nothing here needs LibTorch,
// OpenCV or SQLite. (TorchPch.h is the precompiled-header list of the torch modules, not API.)

#include "framework/core/AtomicFile.h"     // whole-file writes that never leave a partial file
#include "framework/core/Errors.h"         // typed errors and their exit codes
#include "framework/core/FaultPoint.h"     // crash injection for the kill tests
#include "framework/core/Hash.h"           // content hashes (config hash, run ids, cache keys)
#include "framework/core/Log.h"            // levelled logging, formatted only when shown
#include "framework/core/Progress.h"       // progress lines, duration formatting
#include "framework/core/Provenance.h"     // git commit and version stamped at build time
#include "framework/core/ResourcePaths.h"  // resources found beside the executable
#include "framework/core/Stopwatch.h"      // wall-clock seconds
