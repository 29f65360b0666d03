#pragma once
// Internal to framework/config: the range and choice rules of config keys, each with the text
// that documents it, so the check and its documentation cannot drift apart; and the
// "did you mean" suggestion for misspelt keys and values.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ferlab::config {

/// A key's rule on its (already type-checked) JSON value.
struct Rule {
  /// "" when the value is acceptable, else what was expected ("expected an integer >= 1, got 0").
  std::function<std::string(const nlohmann::json&)> check;
  std::string text;  ///< the allowed values as documented: ">= 1", "[0, 1)", "sgd | adam"

  std::string operator()(const nlohmann::json& value) const { return check ? check(value) : ""; }
};

Rule anyValue();
/// Integers in [low, high].
Rule intRange(std::int64_t low, std::int64_t high = INT32_MAX);
/// Floats from low to high, each end open or closed; high = infinity for no upper bound.
Rule floatRange(double low, bool low_open, double high, bool high_open);
Rule probability();  ///< [0, 1]
Rule rate();         ///< [0, 1)
Rule nonNegative();  ///< >= 0
Rule positive();     ///< > 0
Rule oneOf(std::vector<std::string> allowed);
Rule nonEmpty();
Rule httpUrlOrEmpty();  ///< "" or http(s)://...
Rule experimentName();  ///< non-empty, no '/' or '\' (it names report files)
Rule inputSize();       ///< 0 or >= 32
Rule trainableList();   ///< train.phases[].trainable entries
Rule deviceName();      ///< auto | cpu | cuda | cuda:N

/// " (did you mean 'x'?)" for the closest candidate, or "" when none is close.
std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates);

/// Numbers in messages as a person writes them (1, 0.25), not as JSON (1.0).
std::string formatNumber(double value);

/// The part of a dotted key after its last dot.
std::string lastComponent(const std::string& key);

}  // namespace ferlab::config
