#pragma once
// The config module's public API: experiment TOML in, resolved runs out. Internal to the module
// (not to be included from outside framework/config): ConfigSchema.h (the key declarations'
// types), ConfigRules.h (range and choice rules), ConfigLayers.h (reader/resolver plumbing).

#include "framework/config/Choices.h"       // choice enums, their spellings, fmt formatting
#include "framework/config/ConfigLoader.h"  // loadExperiment, --print-defaults, run identity
#include "framework/config/RunConfig.h"     // the resolved configuration of one run
