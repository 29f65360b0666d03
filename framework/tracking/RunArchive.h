#pragma once
// A finished run's archive: everything the store holds about it (identity, resolved config,
// params and grid values, provenance, summary, epoch history, phases, final metrics with
// per-class metrics and confusion matrices, and the per-sample PublicTest and PrivateTest
// predictions with their softmax probabilities), in one gzip-compressed JSON file.
//
// Lossless: doubles are written with enough digits to read back bit-identical (nlohmann-json
// prints the shortest round-trip form), probabilities as the base64 of their little-endian
// float32 bytes (RFC 4648), exactly as the store keeps them. Archiving a run, importing it
// into a fresh store and archiving it again gives the same JSON.
//
// Why: runs train on one machine and their stores are not committed; the archives under
// results/reproductions/ are, so the reproduction ledger, reports and ensembles survive a
// fresh machine (`ferlab archive`, `ferlab import`). Checkpoints are not archived: they are
// large, and a report or an ensemble never needs them.
//
// Format (version 1): {"format": "ferlab-run-archive", "version": 1, "experiment": {name,
// source, grid_keys}, "run": {...RunRecord}, "summary": {...}, "members": [[run id, weight]]
// (an ensemble's; its members are archived as runs of their own), "epochs": [...], "phases":
// [...], "splits": [...], "predictions": [{split, sample_index[], sample_id[], label[],
// predicted[], classes, probabilities_f32le_base64}]}.

#include <string>
#include <utility>
#include <vector>

#include "framework/tracking/SqliteStore.h"

namespace ferlab::tracking {

struct RunArchive {
  ExperimentInfo experiment;
  RunRecord record;
  RunSummary summary;
  std::vector<EnsembleMember> members;  ///< an ensemble's members and weights; empty otherwise
  std::vector<EpochRecord> epochs;
  std::vector<PhaseRecord> phases;
  std::vector<SplitMetrics> splits;
  /// (split name, that split's predictions in sample order).
  std::vector<std::pair<std::string, std::vector<Prediction>>> predictions;
};

/// Everything the store holds about the finished run `id_or_prefix`. Throws StoreError when
/// the run is unknown or not finished (an unfinished run has no final results to archive).
RunArchive archiveRun(const SqliteStore& store, const std::string& id_or_prefix);

/// As archiveRun, for a run in any state: an unfinished one has its history so far and no final
/// results. For `ferlab merge` (SqliteStore::mergeRun), which carries runs between stores.
RunArchive snapshotRun(const SqliteStore& store, const std::string& id_or_prefix);
/// Writes the archive to `path` (gzip, replaced atomically). Throws DataError naming `path`.
void writeRunArchive(const std::string& path, const RunArchive& archive);

/// Reads an archive written by writeRunArchive. Throws DataError naming `path` and the
/// offending key for a file that is not gzip, not JSON, of another format or version, or
/// with a missing or mistyped key.
RunArchive readRunArchive(const std::string& path);

/// The archive as JSON text (what writeRunArchive compresses), for tests and diffs.
std::string runArchiveJson(const RunArchive& archive);

/// Checks that the archive is complete enough to import: a finished run with an id and an
/// experiment, and confusion matrices of k x k cells. Throws DataError naming `origin`.
void validateRunArchive(const RunArchive& archive, const std::string& origin);

}  // namespace ferlab::tracking
