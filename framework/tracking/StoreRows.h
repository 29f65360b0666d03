#pragma once
// Internal to the tracking store: how records map onto columns, shared by the writer
// (StoreWriter.cpp) and the queries (StoreQueries.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "framework/tracking/SqliteStore.h"
#include "framework/tracking/Statement.h"

namespace ferlab::tracking::detail {

// The run columns read into a RunRow, in the order readRunRow consumes them.
constexpr const char* kRunColumns =
    "r.id, r.experiment, r.name, r.status, r.grid_index, r.config_json, r.config_hash, "
    "r.seed, r.backbone, r.git_commit, r.ferlab_version, r.torch_version, r.opencv_version, "
    "r.device, r.dataset_key, r.started_at, r.ended_at, r.error, r.best_epoch, "
    "r.best_val_accuracy, r.best_val_macro_f1, r.best_val_loss, r.last_epoch, "
    "r.last_val_accuracy, r.last_train_loss, r.last_train_accuracy, r.test_accuracy, "
    "r.test_macro_f1, r.images_per_sec, r.duration_s, r.pretrained, r.align_aligned, "
    "r.align_face_only, r.align_none, r.precision, r.weights_loaded, r.weights_total, r.kind, "
    "r.owner_host, r.owner_pid, r.owner_token IS NOT NULL AND r.status = 'running', "
    "r.heartbeat_at, (julianday('now') - 2440587.5) * 86400.0 - r.heartbeat_at";

/// SQLite's clock as Unix seconds (fractional): heartbeats are written and compared with it,
/// so processes on one machine agree without trusting each other's clocks.
constexpr const char* kNowUnixSeconds = "((julianday('now') - 2440587.5) * 86400.0)";

constexpr const char* kSelectParams =
    "SELECT key, value, in_grid FROM params WHERE run_id = ?1 ORDER BY rowid";

/// Class counts as stored in epochs.class_counts: "3995,436,4097"; "" for none (NULL).
std::string joinCounts(const std::vector<std::int64_t>& counts);
/// The inverse of joinCounts; "" (NULL) reads as no counts.
std::vector<std::int64_t> splitCounts(const std::string& text);

/// Reads a row selected with kRunColumns.
RunRow readRunRow(Row row);

/// Fills params (insertion order, which is the caller's order) and grid_values (grid order).
void loadParams(Statement& select, RunRecord& record);

/// The run with exactly this id, with its params; nullopt when there is none.
std::optional<RunRow> loadRunRow(const Context& ctx, const std::string& id);

}  // namespace ferlab::tracking::detail
