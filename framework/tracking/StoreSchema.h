#pragma once
// Internal to the tracking store: opening a connection (WAL, busy timeout, foreign keys) and
// bringing the schema to SqliteStore::currentSchemaVersion() by forward migrations.

#include <string>

#include "framework/tracking/SqliteStore.h"
#include "framework/tracking/Statement.h"

namespace ferlab::tracking::detail {

/// Creates the folders above `path`; throws StoreError naming the folder.
void createParentFolders(const std::string& path);

/// PRAGMA user_version: the schema version the file holds (0 for a new file).
int readUserVersion(const Context& ctx);

/// Configures the connection (busy timeout, `journal`) and migrates, retrying while another process
/// holds a lock. Switching to WAL, and the first read while another process converts the file or
/// deletes its WAL on close, can report SQLITE_BUSY without consulting the busy handler; several
/// `ferlab run` processes started together hit exactly that, so wait it out here under the
/// same 60 s budget.
/// Throws StoreError (a file that is not a database, a schema newer than this FERLab).
void openWithRetry(const Context& ctx, Journal journal);

/// A read-only connection's openWithRetry: sets the busy timeout and returns the schema
/// version without changing the file (no WAL switch, no migration), retrying under the same
/// 60 s budget while another process holds a lock. Throws StoreError (not a database).
int openReadOnlyWithRetry(const Context& ctx);

}  // namespace ferlab::tracking::detail
