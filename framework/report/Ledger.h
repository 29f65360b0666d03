#pragma once
// The reproduction ledger: for every experiment whose runs carry a `[reference]`
// (experiments/reproduce/), the claimed result next to what FERLab obtained, computed from
// the store: PrivateTest accuracy as mean +- sd over the finished runs (seeds), a 95%
// percentile-bootstrap interval of that mean, and a verdict. Used by `ferlab ledger` (README's
// Results table) and the report's "Claimed vs obtained" section, so neither is typed by hand.
// Ensembles of reproduction runs (`ferlab ensemble`, report/Ensemble.h) get rows of their own
// after the references: no claim of their own, their PrivateTest accuracy with its interval,
// best PublicTest first, each naming its members.

#include <cstdint>
#include <string>
#include <vector>

#include "framework/config/ConfigLoader.h"
#include "framework/report/Statistics.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::report {

/// Within this many accuracy points (fractions: 0.02 = 2 points) of the claim is "reproduced".
inline constexpr double kReproducedWithin = 0.02;

enum class Verdict {
  Reproduced,  ///< |obtained - claimed| <= kReproducedWithin
  Below,
  Above,
  NoClaim,   ///< the source published no number
  NoRuns,    ///< no run of the experiment has finished yet
  Ensemble,  ///< an ensemble of reproduction runs: nothing of its own to compare with
};

/// "reproduced", "below", "above", "no published number", "not run yet",
/// "ensemble: no claim of its own".
const char* verdictName(Verdict verdict);

struct LedgerEntry {
  std::string experiment;
  /// The recipe the row's runs share: their identity config without train.seed, the
  /// execution keys and the annotations, as canonical JSON. Runs of one recipe are seeds of one
  /// reproduction; an experiment whose grid varies more than the seed (transfer_frozen over
  /// vgg16 and resnet50) gets one row per recipe. "" for an ensemble row.
  std::string recipe;
  /// What tells this recipe from the experiment's others: "model.name=vgg16" (the keys whose
  /// values differ, sorted); "" when the experiment has one recipe.
  std::string variant;
  std::string source;
  double claimed = 0;  ///< fraction; 0 = none published
  std::string protocol;
  std::vector<std::string> differences;
  int runs = 0;            ///< runs of the recipe in the store, or planned (withDeclared)
  int finished = 0;        ///< of which finished (the seeds averaged)
  MeanStd test_accuracy;   ///< PrivateTest accuracy over the finished runs
  Interval mean_interval;  ///< 95% bootstrap interval of the mean (test images resampled)
  bool has_interval = false;
  int epochs = 0;            ///< train.epochs of the runs (the largest, when they differ)
  int reference_epochs = 0;  ///< theirs; 0 = unknown
  bool partial = false;      ///< epochs < reference_epochs: a partial reproduction
  bool random_init = false;  ///< an ImageNet backbone trained without loaded weights
  bool thinned = false;      ///< evaluated on a thinned PrivateTest (data.eval_subset < 1)
  Verdict verdict = Verdict::NoRuns;

  // An ensemble row (verdict Ensemble): a finished ensemble run whose members all belong to
  // experiments with a [reference]. experiment is the ensemble's, source says what it
  // combines, claimed is 0, runs = finished = 1, test_accuracy its PrivateTest accuracy (sd 0)
  // and mean_interval that accuracy's 95% percentile bootstrap; random_init and thinned hold
  // when they hold for any member; differences name the members and any partial
  // reproduction among them (partial itself stays false).
  bool ensemble = false;
  std::string run_id, run_name;                 ///< the ensemble run
  double val_accuracy = -1;                     ///< its PublicTest accuracy (chose its members)
  std::vector<std::string> members;             ///< "id (experiment) weight 0.500", heaviest first
  std::vector<std::string> member_experiments;  ///< distinct, sorted
};

/// The ledger of `store`, one entry per recipe of each experiment with a reference, by
/// experiment name and variant, then
/// one per ensemble of reproduction runs, highest PublicTest accuracy first (ties by run id).
/// The interval resamples the PrivateTest images jointly for every finished run (paired),
/// with `resamples` draws from `seed`; runs whose stored predictions do not cover the same
/// images give no interval. Throws StoreError.
std::vector<LedgerEntry> buildLedger(const tracking::SqliteStore& store, int resamples = 2000,
                                     std::uint64_t seed = 0);

/// `entries` plus a "not run yet" entry for every recipe of `declared` experiments that declare
/// a reference and have no run of it in the store, sorted by experiment name and variant
/// (ensemble rows after them, in buildLedger's order): the ledger shows every reference, run or
/// not. A recorded recipe that is declared shows the declared [reference] (source, claim,
/// protocol, differences, epochs): the file's current wording of the same training. Variants
/// are relabelled over the declared and recorded recipes together.
std::vector<LedgerEntry> withDeclared(std::vector<LedgerEntry> entries,
                                      const std::vector<config::ExperimentGrid>& declared);

/// The ledger as a Markdown table (README's Results section), with a line per difference.
std::string ledgerMarkdown(const std::vector<LedgerEntry>& entries);

}  // namespace ferlab::report
