#include "framework/tracking/SqliteStore.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <sqlite3.h>

#include "framework/core/Errors.h"
#include "framework/core/FilesystemType.h"
#include "framework/core/Log.h"
#include "framework/tracking/Statement.h"
#include "framework/tracking/StoreSchema.h"

// The store's code is split by concept: Statement.h (SQLite plumbing), StoreSchema.cpp
// (schema, migrations, opening), StoreRows.cpp (records <-> columns), StoreWriter.cpp
// (writes) and StoreQueries.cpp (reads). This file: status names and the connection's life.

namespace ferlab::tracking {

using detail::Context;
using detail::createParentFolders;
using detail::openReadOnlyWithRetry;
using detail::openWithRetry;
using detail::readUserVersion;
using detail::Row;
using detail::Statement;
using detail::throwError;
using detail::throwSqlite;

const char* statusName(RunStatus status) {
  switch (status) {
    case RunStatus::Queued:
      return "queued";
    case RunStatus::Running:
      return "running";
    case RunStatus::Finished:
      return "finished";
    case RunStatus::Failed:
      return "failed";
    case RunStatus::Interrupted:
      return "interrupted";
  }
  return "unknown";
}

RunStatus parseStatus(const std::string& name) {
  for (RunStatus status : {RunStatus::Queued, RunStatus::Running, RunStatus::Finished,
                           RunStatus::Failed, RunStatus::Interrupted}) {
    if (name == statusName(status)) return status;
  }
  throw StoreError("unknown run status '" + name +
                   "' (expected queued, running, finished, failed or interrupted)");
}

const char* kindName(RunKind kind) {
  switch (kind) {
    case RunKind::Train:
      return "train";
    case RunKind::Ensemble:
      return "ensemble";
  }
  return "unknown";
}

RunKind parseKind(const std::string& name) {
  for (RunKind kind : {RunKind::Train, RunKind::Ensemble}) {
    if (name == kindName(kind)) return kind;
  }
  throw StoreError("unknown run kind '" + name + "' (expected train or ensemble)");
}

namespace {

/// The folder that holds `path` ("." for a bare file name).
std::filesystem::path folderOf(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

bool writable(const std::filesystem::path& path) {
  return ::access(path.c_str(), W_OK) == 0;
}

/// A read-only SQLite URI for `path` (https://sqlite.org/uri.html): '%', '?' and '#' are
/// escaped so that any file name stays a file name.
std::string readOnlyUri(const std::string& path, bool immutable) {
  std::string uri = "file:";
  for (const char c : std::filesystem::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#') {
      uri += fmt::format("%{:02x}", static_cast<unsigned char>(c));
    } else {
      uri += c;
    }
  }
  return uri + "?mode=ro" + (immutable ? "&immutable=1" : "");
}

// SQLite: "WAL does not work over a network filesystem" (https://sqlite.org/wal.html).
void refuseNetworkFilesystem(const std::string& path) {
  core::FilesystemType type;
  try {
    type = core::filesystemTypeOf(path);
  } catch (const std::system_error& error) {
    throw StoreError(path + ": cannot tell which filesystem holds the store: " + error.what());
  }
  if (!type.network) return;
  throw StoreError(fmt::format(
      "{}: the store is on a network filesystem ({}), where SQLite's WAL journal does not work "
      "(https://sqlite.org/wal.html) and locks are unreliable: record into one shard store per "
      "process instead (`ferlab run --cell I --shard --db SHARD.db`, as `ferlab submit --slurm` "
      "does), then combine them with `ferlab merge SHARDS... --into DB` on a local disk",
      path, type.name));
}

// A writer needs the file and its folder (SQLite creates the -wal and -shm files beside the
// store); without them SQLite says only "unable to open database file" or fails at the
// first commit, so say why up front. access() reports a read-only mount even to root.
void refuseReadOnly(const std::string& path) {
  std::error_code error;
  const bool exists = std::filesystem::exists(path, error);
  const std::filesystem::path target = exists ? std::filesystem::path(path) : folderOf(path);
  for (const auto& needed : {target, folderOf(path)}) {
    if (writable(needed)) continue;
    const int reason = errno;
    throw StoreError(fmt::format(
        "{}: the store cannot be written ({}: {}): recording needs write access to the store "
        "and its folder; read-only commands (ls, show, report, export) still work",
        path, needed.string(), std::strerror(reason)));
  }
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path, OpenMode mode, Journal journal)
    : path_(path), read_only_(mode == OpenMode::ReadOnly) {
  if (read_only_) {
    openReadOnly();
    return;
  }
  if (journal == Journal::Wal) refuseNetworkFilesystem(path_);
  createParentFolders(path_);
  refuseReadOnly(path_);
  const int rc =
      sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  // The destructor does not run when the constructor throws, so close here on any failure.
  try {
    const Context ctx{db_, path_, "opening the store"};
    if (rc != SQLITE_OK) {
      if (!db_) throwError(ctx, "out of memory");
      throwSqlite(ctx);
    }
    openWithRetry(ctx, journal);
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

void SqliteStore::openReadOnly() {
  std::error_code error;
  const auto status = std::filesystem::status(path_, error);
  if (status.type() == std::filesystem::file_type::none) {  // an error other than "not found"
    throw StoreError(path_ + ": cannot read the tracking store: " + error.message());
  }
  if (!std::filesystem::exists(status)) {
    throw StoreError(path_ +
                     ": no tracking store here: the file does not exist (check --db; "
                     "`ferlab run` creates the store)");
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw StoreError(path_ + ": not a tracking store (not a regular file)");
  }
  // Without write access to the folder SQLite cannot create the -shm file a WAL reader
  // needs; a store there cannot change under us unless a WAL is pending, so read it as
  // immutable. (As root, access() grants writes that chmod forbids: only a read-only mount
  // takes this branch; the rest works with plain mode=ro.)
  const std::string wal = path_ + "-wal";
  const bool pending_wal =
      std::filesystem::exists(wal, error) && std::filesystem::file_size(wal, error) > 0;
  const bool immutable = !writable(folderOf(path_)) && !pending_wal;
  for (int attempt = 0;; ++attempt) {
    const int rc = sqlite3_open_v2(readOnlyUri(path_, immutable).c_str(), &db_,
                                   SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
    int version = 0;
    try {
      const Context ctx{db_, path_, "opening the store read-only"};
      if (rc != SQLITE_OK) {
        if (!db_) throwError(ctx, "out of memory");
        throwSqlite(ctx);
      }
      version = openReadOnlyWithRetry(ctx);
      const int target = currentSchemaVersion();
      if (version == target) return;
      if (version == 0) throwError(ctx, "not a tracking store (empty, no schema)");
      if (version > target) {
        throwError(ctx, fmt::format("schema version {} is newer than this FERLab supports ({}); "
                                    "upgrade FERLab",
                                    version, target));
      }
      if (attempt > 0 || !writable(path_) || !writable(folderOf(path_))) {
        throwError(ctx, fmt::format("schema version {} is older than this FERLab's ({}), and "
                                    "the store cannot be migrated where it is read-only; open "
                                    "it once with write access (e.g. `ferlab run`)",
                                    version, target));
      }
    } catch (...) {
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw;
    }
    // An older schema in a writable file: migrate as any writer would, then read.
    sqlite3_close_v2(db_);
    db_ = nullptr;
    { SqliteStore migrate(path_, OpenMode::ReadWrite); }
    log::info("{}: migrated the schema from version {} to read it", path_, version);
  }
}

SqliteStore::~SqliteStore() {
  sqlite3_close_v2(db_);
}

int SqliteStore::schemaVersion() const {
  return readUserVersion(Context{db_, path_, "reading the schema version"});
}

std::string SqliteStore::storeId() const {
  const Context ctx{db_, path_, "reading the store id"};
  Statement statement(ctx, "SELECT value FROM store_info WHERE key = 'store_id'");
  if (!statement.step()) throwError(ctx, "the store has no id (store_info is empty)");
  return Row(statement).text();
}

}  // namespace ferlab::tracking
