#pragma once
// The tracking module's public API: the SQLite store, the source of truth for every run.
// Every other header in framework/tracking is internal to the module.

#include "framework/tracking/SqliteStore.h"  // runs, epochs, metrics, predictions
