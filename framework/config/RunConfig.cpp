#include "framework/config/RunConfig.h"

// RunConfig is plain data: its defaults live in the header, and the same defaults written as
// TOML (the schema every config is checked against) live in ConfigLoader.cpp, next to the
// code that reads them, so loading, validation and conversion to and from TOML/JSON stay in
// one place. ConfigLoaderTest checks the two copies of the defaults agree field by field.
