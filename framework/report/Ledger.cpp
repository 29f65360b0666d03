#include "framework/report/Ledger.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "framework/config/ConfigLoader.h"
#include "framework/core/Errors.h"
#include "framework/core/Log.h"

namespace ferlab::report {
namespace {

/// A run's PrivateTest predictions in sample order: (labels, predicted, sample indices).
struct TestPredictions {
  std::vector<std::int64_t> samples, labels, predicted;
};

TestPredictions testPredictions(const tracking::SqliteStore& store, const std::string& id) {
  auto predictions = store.predictions(id, "PrivateTest");
  std::sort(predictions.begin(), predictions.end(),
            [](const auto& a, const auto& b) { return a.sample_index < b.sample_index; });
  TestPredictions out;
  for (const auto& prediction : predictions) {
    out.samples.push_back(prediction.sample_index);
    out.labels.push_back(prediction.label);
    out.predicted.push_back(prediction.predicted);
  }
  return out;
}

/// Uniform in [0, n) without modulo bias, from the 64-bit generator (as Statistics.cpp).
std::uint64_t draw(std::mt19937_64& generator, std::uint64_t n) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t value;
  do value = generator();
  while (value >= limit);
  return value % n;
}

double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const auto above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
}

/// Percentile bootstrap of the mean accuracy over runs scored on the same images: each
/// resample draws n image indices with replacement and scores every run on them.
Interval bootstrapMeanAccuracy(const std::vector<TestPredictions>& runs, int resamples,
                               std::uint64_t seed) {
  const std::size_t n = runs.front().labels.size();
  std::vector<std::vector<std::uint8_t>> right(runs.size(), std::vector<std::uint8_t>(n));
  double estimate = 0;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    for (std::size_t i = 0; i < n; ++i) right[r][i] = runs[r].labels[i] == runs[r].predicted[i];
    estimate += accuracy(runs[r].labels, runs[r].predicted) / static_cast<double>(runs.size());
  }
  std::mt19937_64 generator(seed);
  std::vector<double> means;
  std::vector<std::size_t> picked(n);
  for (int b = 0; b < resamples; ++b) {
    for (auto& index : picked) index = draw(generator, n);
    double sum = 0;
    for (const auto& run : right) {
      for (const auto index : picked) sum += run[index];
    }
    means.push_back(sum / static_cast<double>(n * runs.size()));
  }
  return {estimate, quantile(means, 0.025), quantile(means, 0.975)};
}

void eraseKey(nlohmann::json& config, const std::string& dotted) {
  const auto dot = dotted.find('.');
  if (dot == std::string::npos) {
    config.erase(dotted);
    return;
  }
  const auto section = config.find(dotted.substr(0, dot));
  if (section != config.end() && section->is_object()) section->erase(dotted.substr(dot + 1));
}

/// LedgerEntry::recipe of a run: what it is, less its seed. Annotations go too, so a reworded
/// [reference] still matches the runs recorded under the old wording.
std::string recipeOf(const config::RunConfig& config) {
  nlohmann::json json = nlohmann::json::parse(config::resolvedJson(config));
  for (const std::string& key : config::executionKeys()) eraseKey(json, key);
  eraseKey(json, "train.seed");
  json.erase("description");
  json.erase("reference");
  return json.dump();
}

/// A recipe as "section.key" -> JSON value text (top-level scalars under their own name).
std::map<std::string, std::string> flatRecipe(const std::string& recipe) {
  std::map<std::string, std::string> flat;
  const nlohmann::json config = nlohmann::json::parse(recipe);  // outlives the items() proxy
  for (const auto& [section, value] : config.items()) {
    if (!value.is_object()) {
      flat[section] = value.dump();
      continue;
    }
    for (const auto& [key, field] : value.items()) flat[section + "." + key] = field.dump();
  }
  return flat;
}

/// Sets LedgerEntry::variant of every reference row: the keys whose values differ between the
/// recipes of its experiment, as "key=value" (strings unquoted), joined by ", ".
void labelVariants(std::vector<LedgerEntry>& entries) {
  std::map<std::string, std::vector<LedgerEntry*>> by_experiment;
  for (LedgerEntry& entry : entries) {
    if (!entry.ensemble) by_experiment[entry.experiment].push_back(&entry);
  }
  for (auto& [experiment, rows] : by_experiment) {
    std::vector<std::map<std::string, std::string>> flat;
    for (const LedgerEntry* row : rows) flat.push_back(flatRecipe(row->recipe));
    std::vector<std::string> differing;
    for (const auto& [key, value] : flat.front()) {
      const bool differs = std::any_of(flat.begin(), flat.end(), [&](const auto& other) {
        const auto it = other.find(key);
        return it == other.end() || it->second != value;
      });
      if (differs) differing.push_back(key);
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::vector<std::string> parts;
      for (const std::string& key : differing) {
        const auto it = flat[i].find(key);
        if (it == flat[i].end()) continue;
        const nlohmann::json value = nlohmann::json::parse(it->second);
        parts.push_back(key + "=" + (value.is_string() ? value.get<std::string>() : it->second));
      }
      rows[i]->variant = fmt::format("{}", fmt::join(parts, ", "));
    }
  }
}

Verdict verdictOf(const LedgerEntry& entry) {
  if (entry.finished == 0) return Verdict::NoRuns;
  if (entry.claimed <= 0) return Verdict::NoClaim;
  const double gap = entry.test_accuracy.mean - entry.claimed;
  if (std::abs(gap) <= kReproducedWithin + 1e-12) return Verdict::Reproduced;
  return gap < 0 ? Verdict::Below : Verdict::Above;
}

/// Copies what a [reference] declares into `entry`.
void setReference(LedgerEntry& entry, const config::ReferenceConfig& reference) {
  entry.source = reference.source;
  entry.claimed = reference.claimed;
  entry.protocol = reference.protocol;
  entry.differences = reference.differences;
  entry.reference_epochs = reference.epochs;
}

/// Whether the row's recipe trains fewer epochs than the source did.
bool isPartial(const LedgerEntry& entry) {
  return entry.reference_epochs > 0 && entry.epochs < entry.reference_epochs;
}

/// A reference row of `recipe` with what its [reference] declares, nothing obtained yet.
LedgerEntry referenceEntry(const std::string& experiment, const std::string& recipe,
                           const config::ReferenceConfig& reference) {
  LedgerEntry entry;
  entry.experiment = experiment;
  entry.recipe = recipe;
  setReference(entry, reference);
  return entry;
}

LedgerEntry entryFor(const tracking::SqliteStore& store,
                     const std::vector<const tracking::RunRow*>& rows, const std::string& recipe,
                     const config::RunConfig& first, int resamples, std::uint64_t seed) {
  LedgerEntry entry = referenceEntry(rows.front()->record.experiment, recipe, first.reference);
  entry.runs = static_cast<int>(rows.size());
  std::vector<double> accuracies;
  std::vector<TestPredictions> predictions;
  for (const tracking::RunRow* row : rows) {
    if (row->record.status != tracking::RunStatus::Finished) continue;
    // Readable: buildLedger only passes rows whose config it has read.
    const config::RunConfig config =
        config::runConfigFromResolvedJson(row->record.config_json, "run " + row->record.id);
    ++entry.finished;
    accuracies.push_back(row->summary.test_accuracy);
    entry.epochs = std::max(entry.epochs, config.train.epochs);
    entry.thinned = entry.thinned || config.data.eval_subset < 1.0;
    entry.random_init = entry.random_init || (config::isImageNetBackbone(config.model.name) &&
                                              row->record.pretrained != 1);
    predictions.push_back(testPredictions(store, row->record.id));
  }
  entry.test_accuracy = meanStd(accuracies);
  entry.partial = isPartial(entry);
  const bool aligned =
      !predictions.empty() && !predictions.front().samples.empty() &&
      std::all_of(predictions.begin(), predictions.end(), [&](const TestPredictions& run) {
        return run.samples == predictions.front().samples;
      });
  if (aligned) {
    entry.mean_interval = bootstrapMeanAccuracy(predictions, resamples, seed);
    entry.has_interval = true;
  }
  entry.verdict = verdictOf(entry);
  return entry;
}

/// The row of a finished ensemble whose members are all in `reference_runs` (reproduction
/// runs by id, with their configs). Reads the ensemble's PrivateTest predictions for its
/// interval.
LedgerEntry ensembleEntryFor(
    const tracking::SqliteStore& store, const tracking::RunRow& row,
    const std::vector<tracking::EnsembleMember>& members,
    const std::map<std::string, std::pair<const tracking::RunRow*, config::RunConfig>>&
        reference_runs,
    int resamples, std::uint64_t seed) {
  LedgerEntry entry;
  entry.ensemble = true;
  entry.verdict = Verdict::Ensemble;
  entry.experiment = row.record.experiment;
  entry.run_id = row.record.id;
  entry.run_name = row.record.name;
  entry.val_accuracy = row.summary.best_val_accuracy;
  entry.runs = entry.finished = 1;
  std::vector<std::string> partial;
  for (const tracking::EnsembleMember& member : members) {
    const auto& [member_row, config] = reference_runs.at(member.run_id);
    const std::string& experiment = member_row->record.experiment;
    entry.members.push_back(
        fmt::format("{} ({}) weight {:.3f}", member.run_id, experiment, member.weight));
    if (std::find(entry.member_experiments.begin(), entry.member_experiments.end(), experiment) ==
        entry.member_experiments.end()) {
      entry.member_experiments.push_back(experiment);
      if (config.reference.epochs > 0 && config.train.epochs < config.reference.epochs) {
        partial.push_back(fmt::format("{} ({} of their {} epochs)", experiment, config.train.epochs,
                                      config.reference.epochs));
      }
    }
    entry.epochs = std::max(entry.epochs, config.train.epochs);
    entry.thinned = entry.thinned || config.data.eval_subset < 1.0;
    entry.random_init = entry.random_init || (config::isImageNetBackbone(config.model.name) &&
                                              member_row->record.pretrained != 1);
  }
  std::sort(entry.member_experiments.begin(), entry.member_experiments.end());
  entry.source =
      fmt::format("ensemble of {} run{} of {}", members.size(), members.size() == 1 ? "" : "s",
                  fmt::join(entry.member_experiments, ", "));
  entry.protocol = "members and weights chosen on PublicTest; PrivateTest evaluated once";
  entry.differences.push_back(fmt::format("members: {}", fmt::join(entry.members, ", ")));
  if (!partial.empty()) {
    entry.differences.push_back(
        fmt::format("partial reproductions among its members: {}", fmt::join(partial, ", ")));
  }
  entry.test_accuracy = {row.summary.test_accuracy, 0, 1};
  const TestPredictions predictions = testPredictions(store, row.record.id);
  if (!predictions.samples.empty()) {
    entry.mean_interval = bootstrapMeanAccuracy({predictions}, resamples, seed);
    entry.test_accuracy.mean = entry.mean_interval.estimate;
    entry.has_interval = true;
  }
  return entry;
}

/// References by experiment name and variant, then ensembles by PublicTest accuracy (best
/// first), id.
bool ledgerOrder(const LedgerEntry& a, const LedgerEntry& b) {
  if (a.ensemble != b.ensemble) return !a.ensemble;
  if (!a.ensemble) return std::tie(a.experiment, a.variant) < std::tie(b.experiment, b.variant);
  if (a.val_accuracy != b.val_accuracy) return a.val_accuracy > b.val_accuracy;
  return a.run_id < b.run_id;
}

std::string percent(double fraction) {
  return fmt::format("{:.2f}%", 100 * fraction);
}

std::string escapeCell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

const char* verdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::Reproduced:
      return "reproduced";
    case Verdict::Below:
      return "below";
    case Verdict::Above:
      return "above";
    case Verdict::NoClaim:
      return "no published number";
    case Verdict::NoRuns:
      return "not run yet";
    case Verdict::Ensemble:
      return "ensemble: no claim of its own";
  }
  return "?";
}

std::vector<LedgerEntry> buildLedger(const tracking::SqliteStore& store, int resamples,
                                     std::uint64_t seed) {
  const auto rows = store.listRuns();
  // Rows by (experiment, recipe): the seeds of one reproduction.
  using RecipeKey = std::pair<std::string, std::string>;
  std::map<RecipeKey, std::vector<const tracking::RunRow*>> by_recipe;
  std::map<RecipeKey, config::RunConfig> first_config;
  // Reproduction runs by id, for the ensemble rows.
  std::map<std::string, std::pair<const tracking::RunRow*, config::RunConfig>> reference_runs;
  for (const auto& row : rows) {
    if (row.record.kind == tracking::RunKind::Ensemble) continue;  // no training config
    config::RunConfig config;
    try {
      config = config::runConfigFromResolvedJson(row.record.config_json, "run " + row.record.id);
    } catch (const ConfigError& error) {
      // A record this version cannot read stays out of the ledger; the rest still shows.
      log::warn("ledger: {}: left out", error.what());
      continue;
    }
    if (config.reference.source.empty()) continue;
    const RecipeKey key{row.record.experiment, recipeOf(config)};
    by_recipe[key].push_back(&row);
    first_config.emplace(key, config);
    reference_runs.emplace(row.record.id, std::make_pair(&row, config));
  }
  std::vector<LedgerEntry> entries;
  for (const auto& [key, runs] : by_recipe)
    entries.push_back(entryFor(store, runs, key.second, first_config.at(key), resamples, seed));
  labelVariants(entries);
  for (const auto& row : rows) {
    if (row.record.kind != tracking::RunKind::Ensemble ||
        row.record.status != tracking::RunStatus::Finished) {
      continue;
    }
    const std::vector<tracking::EnsembleMember> members = store.ensembleMembers(row.record.id);
    const bool reproductions =
        !members.empty() &&
        std::all_of(members.begin(), members.end(), [&](const tracking::EnsembleMember& m) {
          return reference_runs.count(m.run_id) != 0;
        });
    if (reproductions) {
      entries.push_back(ensembleEntryFor(store, row, members, reference_runs, resamples, seed));
    }
  }
  std::stable_sort(entries.begin(), entries.end(), ledgerOrder);
  return entries;
}

/// Rewords a recorded row as its experiment file declares the reference now. The runs match
/// the file by recipe, which leaves the [reference] out, so the file's current source, claim,
/// protocol and differences describe the same training as the words recorded with the runs.
void describeAsDeclared(LedgerEntry& entry, const config::ReferenceConfig& reference) {
  setReference(entry, reference);
  entry.partial = isPartial(entry);
  entry.verdict = verdictOf(entry);
}

/// The "not run yet" row of a declared recipe, from its first cell; `cells` seeds planned.
LedgerEntry plannedEntry(const std::string& experiment, const std::string& recipe,
                         const config::RunConfig& config, int cells) {
  LedgerEntry entry = referenceEntry(experiment, recipe, config.reference);
  entry.runs = cells;
  entry.epochs = config.train.epochs;
  entry.partial = isPartial(entry);
  entry.random_init = config::isImageNetBackbone(config.model.name) && config.model.weights.empty();
  entry.verdict = Verdict::NoRuns;
  return entry;
}

std::vector<LedgerEntry> withDeclared(std::vector<LedgerEntry> entries,
                                      const std::vector<config::ExperimentGrid>& declared) {
  for (const config::ExperimentGrid& grid : declared) {
    std::map<std::string, int> cells;  // planned cells (seeds) by recipe
    std::map<std::string, const config::RunConfig*> first_cell;
    for (const config::ResolvedRun& run : grid.runs) {
      if (run.config.reference.source.empty()) continue;
      const std::string recipe = recipeOf(run.config);
      ++cells[recipe];
      first_cell.emplace(recipe, &run.config);
    }
    for (const auto& [recipe, planned] : cells) {
      const auto recorded = std::find_if(entries.begin(), entries.end(), [&](const LedgerEntry& e) {
        return !e.ensemble && e.experiment == grid.name && e.recipe == recipe;
      });
      if (recorded != entries.end()) {
        // "1 of 3": the seeds still to train count, not only those the store has begun.
        recorded->runs = std::max(recorded->runs, planned);
        describeAsDeclared(*recorded, first_cell.at(recipe)->reference);
        continue;
      }
      entries.push_back(plannedEntry(grid.name, recipe, *first_cell.at(recipe), planned));
    }
  }
  labelVariants(entries);
  std::stable_sort(entries.begin(), entries.end(), ledgerOrder);
  return entries;
}

std::string ledgerMarkdown(const std::vector<LedgerEntry>& entries) {
  std::string out =
      "| experiment | reproduces | claimed | obtained PrivateTest (mean ± sd, runs) | 95% CI of "
      "the mean | verdict | how ours differs |\n|---|---|---|---|---|---|---|\n";
  for (const LedgerEntry& entry : entries) {
    std::vector<std::string> notes = entry.differences;
    if (entry.partial) {
      notes.insert(notes.begin(), fmt::format("partial: {} of their {} epochs", entry.epochs,
                                              entry.reference_epochs));
    }
    if (entry.random_init)
      notes.insert(notes.begin(), "random initialisation, no ImageNet weights");
    if (entry.thinned) notes.insert(notes.begin(), "NOT COMPARABLE: thinned PrivateTest");
    std::string obtained = "-";
    if (entry.ensemble) {
      obtained = fmt::format("{} (ensemble; PublicTest {})", percent(entry.test_accuracy.mean),
                             entry.val_accuracy >= 0 ? percent(entry.val_accuracy) : "-");
    } else if (entry.finished == 1) {  // one run has no spread to show
      obtained = fmt::format("{} (1 of {})", percent(entry.test_accuracy.mean), entry.runs);
    } else if (entry.finished > 1) {
      obtained = fmt::format("{} ± {} ({} of {})", percent(entry.test_accuracy.mean),
                             percent(entry.test_accuracy.std), entry.finished, entry.runs);
    }
    const std::string interval = entry.has_interval
                                     ? fmt::format("[{}, {}]", percent(entry.mean_interval.low),
                                                   percent(entry.mean_interval.high))
                                     : "-";
    std::string joined;
    for (const auto& note : notes) joined += (joined.empty() ? "" : "; ") + escapeCell(note);
    const std::string label =
        entry.ensemble ? fmt::format("`{}` (ensemble {}, in `{}`)", entry.run_name, entry.run_id,
                                     entry.experiment)
        : entry.variant.empty() ? fmt::format("`{}`", entry.experiment)
                                : fmt::format("`{}` ({})", entry.experiment, entry.variant);
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", escapeCell(label),
                       escapeCell(entry.source), entry.claimed > 0 ? percent(entry.claimed) : "-",
                       obtained, interval, verdictName(entry.verdict), joined);
  }
  return out;
}

}  // namespace ferlab::report
