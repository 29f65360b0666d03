#include "framework/tracking/SqliteStore.h"

#include <sqlite3.h>

#include "framework/core/Errors.h"
#include "framework/tracking/Statement.h"
#include "framework/tracking/StoreSchema.h"

// The store's code is split by concept: Statement.h (SQLite plumbing), StoreSchema.cpp
// (schema, migrations, opening), StoreRows.cpp (records <-> columns), StoreWriter.cpp
// (writes) and StoreQueries.cpp (reads). This file: status names and the connection's life.

namespace ferlab::tracking {

using detail::Context;
using detail::createParentFolders;
using detail::openWithRetry;
using detail::readUserVersion;
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
  }
  return "unknown";
}

RunStatus parseStatus(const std::string& name) {
  for (RunStatus status :
       {RunStatus::Queued, RunStatus::Running, RunStatus::Finished, RunStatus::Failed}) {
    if (name == statusName(status)) return status;
  }
  throw StoreError("unknown run status '" + name +
                   "' (expected queued, running, finished or failed)");
}

SqliteStore::SqliteStore(const std::string& path) : path_(path) {
  createParentFolders(path_);
  const int rc =
      sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  // The destructor does not run when the constructor throws, so close here on any failure.
  try {
    const Context ctx{db_, path_, "opening the store"};
    if (rc != SQLITE_OK) {
      if (!db_) throwError(ctx, "out of memory");
      throwSqlite(ctx);
    }
    openWithRetry(ctx);
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteStore::~SqliteStore() {
  sqlite3_close_v2(db_);
}

int SqliteStore::schemaVersion() const {
  return readUserVersion(Context{db_, path_, "reading the schema version"});
}

}  // namespace ferlab::tracking
