#include "framework/config/RunConfig.h"

// RunConfig is plain data: its defaults live in the header, and the same defaults written as
// TOML (the schema every config is checked against; the entries of the [[model.head]] and
// [[train.phases]] arrays as commented example blocks) live in ConfigLoader.cpp, next to the
// code that reads them, so loading, validation and conversion to and from TOML/JSON stay in
// one place. ConfigLoaderTest checks the two copies of the defaults agree field by field.

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::config {

const char* precisionName(Precision precision) {
  switch (precision) {
    case Precision::Fp32:
      return "fp32";
    case Precision::Bf16:
      return "bf16";
    case Precision::Fp16:
      return "fp16";
  }
  return "fp32";
}

Precision parsePrecision(const std::string& name) {
  for (const auto precision : {Precision::Fp32, Precision::Bf16, Precision::Fp16}) {
    if (name == precisionName(precision)) return precision;
  }
  throw ConfigError(fmt::format("train.precision: expected fp32, bf16 or fp16, got '{}'", name));
}

}  // namespace ferlab::config
