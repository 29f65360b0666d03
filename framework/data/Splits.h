#pragma once
// Seeded, stratified sampling: carving validation/test splits where a layout has none, and
// `data.subset` for quick trials. Stratified = each class keeps its proportion (rounded per
// class, at least one sample of every class present in the split).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "framework/data/Dataset.h"
#include "framework/data/Fer2013Reader.h"

namespace ferlab::data {

/// Moves a stratified, seeded `val_fraction` / `test_fraction` of the Training samples to
/// Val / Test for each split `coverage` says is missing. Deterministic in `seed`.
void carveMissingSplits(Dataset& dataset, const SplitCoverage& coverage, double val_fraction,
                        double test_fraction, std::int64_t seed);

/// A stratified, seeded selection of `fraction` (0, 1] of `indices` by `labels`, returned
/// in ascending order. fraction = 1 returns `indices` unchanged.
std::vector<std::size_t> stratifiedSample(const std::vector<std::size_t>& indices,
                                          const std::vector<std::int64_t>& labels, double fraction,
                                          std::int64_t seed);

/// `data.subset` and `data.eval_subset`: keeps a stratified, seeded part of the training split
/// (`subset` in (0, 1] is a fraction; with `is_count` it is a number of training images) and
/// an `eval_subset` fraction of the validation and test splits. PublicTest and PrivateTest
/// stay whole unless eval_subset < 1, which is for smoke tests only: numbers on a thinned test
/// split do not compare with published ones. Returns a new dataset whose key carries
/// "+train<subset>s<seed>" and/or "+eval<fraction>s<seed>", or `dataset` itself when nothing
/// is thinned. Throws DataError when the count exceeds the training split or a fraction is
/// outside (0, 1].
Dataset applySubset(const Dataset& dataset, double subset, bool is_count, double eval_subset,
                    std::int64_t seed);

}  // namespace ferlab::data
