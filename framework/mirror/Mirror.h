#pragma once
// The mirror module's public API: copies of the store's records for tools researchers already
// look at. The store stays the source of truth; a mirror that fails never stops training.
// Nothing here needs LibTorch.

#include "framework/mirror/EventFileWriter.h"    // TensorBoard event files (TFRecord framing)
#include "framework/mirror/TensorBoardMirror.h"  // one run's epochs and confusion matrices
