#include "framework/config/RunConfig.h"

// RunConfig is plain data: its defaults live in the header, and the same defaults written as
// TOML (the schema every config is checked against; the entries of the [[model.head]] and
// [[train.phases]] arrays as commented example blocks) live in ConfigLoader.cpp, next to the
// code that reads them, so loading, validation and conversion to and from TOML/JSON stay in
// one place. ConfigLoaderTest checks the two copies of the defaults agree field by field.
