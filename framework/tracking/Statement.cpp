#include "framework/tracking/Statement.h"

namespace ferlab::tracking::detail {

[[noreturn]] void throwError(const Context& ctx, const std::string& message) {
  throw StoreError(ctx.path + ": " + ctx.what + ": " + message);
}

[[noreturn]] void throwSqlite(const Context& ctx) {
  throw SqliteError(ctx.path + ": " + ctx.what + ": " + sqlite3_errmsg(ctx.db),
                    sqlite3_extended_errcode(ctx.db));
}

void exec(const Context& ctx, const std::string& sql) {
  if (sqlite3_exec(ctx.db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    throwSqlite(ctx);
  }
}

}  // namespace ferlab::tracking::detail
