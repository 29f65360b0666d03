#pragma once
// Internal to the tracking store (not part of its interface): the SQLite plumbing that
// every store file shares: error context, statements, rows, transactions. Everything here
// throws StoreError naming the database path (SqliteError when SQLite itself failed).

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <sqlite3.h>

#include "framework/core/Errors.h"

// Probabilities are stored as the raw bytes of float32 arrays; fixing the byte order to
// little-endian keeps the files portable between the machines FERLab runs on.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "float32 blobs assume little-endian");
static_assert(sizeof(float) == 4, "float32 blobs assume 4-byte floats");

namespace ferlab::tracking::detail {

/// What a store operation is doing, so every error reads "<db path>: <what>: <message>".
struct Context {
  sqlite3* db;
  const std::string& path;
  std::string what;
};

/// Throws StoreError "<db path>: <what>: <message>".
[[noreturn]] void throwError(const Context& ctx, const std::string& message);

/// A StoreError that remembers the SQLite result code, so opening can tell a lock it may
/// wait out from a real failure.
class SqliteError : public StoreError {
 public:
  SqliteError(const std::string& message, int code) : StoreError(message), code_(code) {}
  bool busy() const { return (code_ & 0xff) == SQLITE_BUSY || (code_ & 0xff) == SQLITE_LOCKED; }

 private:
  int code_;
};
/// Throws SqliteError with the connection's last message and extended result code.
[[noreturn]] void throwSqlite(const Context& ctx);

/// Runs SQL that returns no rows; throws SqliteError.
void exec(const Context& ctx, const std::string& sql);

/// A prepared statement, finalized on destruction. Binds are 1-based like SQLite's; reads
/// go through Row, which walks the result columns in order.
class Statement {
 public:
  Statement(const Context& ctx, const std::string& sql) : ctx_(ctx) {
    if (sqlite3_prepare_v2(ctx.db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
        SQLITE_OK) {
      throwSqlite(ctx);
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const std::string& text) {
    // SQLITE_TRANSIENT: the caller's string may die before the statement steps.
    return check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                                   SQLITE_TRANSIENT));
  }
  Statement& bind(int index, std::int64_t value) {
    return check(sqlite3_bind_int64(stmt_, index, value));
  }
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value) {
    return check(sqlite3_bind_double(stmt_, index, value));
  }
  Statement& bindNull(int index) { return check(sqlite3_bind_null(stmt_, index)); }
  /// Empty text is "unknown" in the records and NULL in the database.
  Statement& bindOptional(int index, const std::string& text) {
    return text.empty() ? bindNull(index) : bind(index, text);
  }
  /// Summary values use -1 (and NaN) for "unknown"; the database says so with NULL.
  Statement& bindKnown(int index, double value) {
    return std::isnan(value) || value == -1 ? bindNull(index) : bind(index, value);
  }
  Statement& bindKnown(int index, int value) {
    return value == -1 ? bindNull(index) : bind(index, value);
  }
  Statement& bindFloats(int index, const std::vector<float>& values) {
    // An empty vector has no data pointer, and binding nullptr would store NULL.
    if (values.empty()) return check(sqlite3_bind_zeroblob(stmt_, index, 0));
    return check(sqlite3_bind_blob(stmt_, index, values.data(),
                                   static_cast<int>(values.size() * sizeof(float)), SQLITE_STATIC));
  }

  /// Steps once; true when a row is ready to read.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throwSqlite(ctx_);
  }
  /// Runs a statement that returns no rows, then makes it ready for the next bindings.
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  sqlite3_stmt* handle() const { return stmt_; }
  const Context& context() const { return ctx_; }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) throwSqlite(ctx_);
    return *this;
  }

  const Context& ctx_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// The current result row of a statement, read column after column.
class Row {
 public:
  explicit Row(const Statement& statement) : statement_(statement) {}

  bool isNull() const { return sqlite3_column_type(stmt(), column_) == SQLITE_NULL; }
  /// NULL reads as empty text.
  std::string text() {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt(), column_));
    const int bytes = sqlite3_column_bytes(stmt(), column_++);
    return data ? std::string(data, static_cast<std::size_t>(bytes)) : std::string();
  }
  std::int64_t integer() { return sqlite3_column_int64(stmt(), column_++); }
  /// SQLite stores NaN as NULL, so NULL reads back as NaN (a diverged loss stays NaN).
  double real() {
    const double value = isNull() ? std::numeric_limits<double>::quiet_NaN()
                                  : sqlite3_column_double(stmt(), column_);
    ++column_;
    return value;
  }
  /// Summary values: NULL reads as -1, "unknown".
  double known() {
    const double value = isNull() ? -1.0 : sqlite3_column_double(stmt(), column_);
    ++column_;
    return value;
  }
  int knownInt() {
    const int value = isNull() ? -1 : sqlite3_column_int(stmt(), column_);
    ++column_;
    return value;
  }
  std::vector<float> floats() {
    const void* data = sqlite3_column_blob(stmt(), column_);
    const auto bytes = static_cast<std::size_t>(sqlite3_column_bytes(stmt(), column_++));
    if (bytes % sizeof(float) != 0) {
      throwError(statement_.context(),
                 "probability blob of " + std::to_string(bytes) + " bytes is not float32");
    }
    std::vector<float> values(bytes / sizeof(float));
    if (bytes > 0) std::memcpy(values.data(), data, bytes);
    return values;
  }

 private:
  sqlite3_stmt* stmt() const { return statement_.handle(); }

  const Statement& statement_;
  int column_ = 0;
};

/// One transaction: begun on construction, rolled back on destruction unless committed, so
/// an exception anywhere inside a write leaves the store as it was.
class Transaction {
 public:
  /// `begin`: "BEGIN IMMEDIATE" for writes (takes the write lock up front, waiting under the
  /// busy timeout, so a read never has to be upgraded mid-transaction, which SQLite reports
  /// as SQLITE_BUSY without waiting); "BEGIN" for consistent multi-statement reads.
  Transaction(const Context& ctx, const char* begin) : ctx_(ctx) {
    exec(ctx_, begin);
    open_ = true;
  }
  ~Transaction() {
    // Some errors (SQLITE_FULL, IOERR) roll back by themselves; ROLLBACK would then fail.
    if (open_ && !sqlite3_get_autocommit(ctx_.db)) {
      sqlite3_exec(ctx_.db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit() {
    exec(ctx_, "COMMIT");
    open_ = false;
  }

 private:
  const Context& ctx_;
  bool open_ = false;
};

}  // namespace ferlab::tracking::detail
