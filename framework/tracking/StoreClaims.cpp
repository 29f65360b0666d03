// Run claims (declared in SqliteStore.h): how several processes, on one machine or sharing a
// store, divide a grid so that every run is trained by exactly one of them at a time.
//
// A claim is a conditional UPDATE in a BEGIN IMMEDIATE transaction (SQLite's write lock), so
// two processes can never both take a run. The owner proves it is alive with a heartbeat
// (train/ClaimKeeper.h); a claim that stops beating, or whose process is gone from this host,
// is taken over and the run resumes from its last checkpoint. Every write of the owner checks
// its token in the same transaction, so a process that lost its claim (stopped for longer
// than the stale limit, then woken) cannot add a single row to a run someone else now trains.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <sqlite3.h>

#include "framework/core/Provenance.h"
#include "framework/tracking/SqliteStore.h"
#include "framework/tracking/StoreRows.h"

namespace ferlab::tracking {
namespace {

using detail::Context;
using detail::kNowUnixSeconds;
using detail::Row;
using detail::Statement;
using detail::throwError;
using detail::Transaction;

/// The claim columns of one run, read under the write lock.
struct ClaimRow {
  RunStatus status = RunStatus::Queued;
  RunKind kind = RunKind::Train;
  std::string ended_at;
  bool has_token = false;
  std::string token;
  RunOwner owner;
};

ClaimRow readClaimRow(const Context& ctx, const std::string& id) {
  Statement select(ctx, std::string("SELECT status, kind, ended_at, owner_token, owner_host, "
                                    "owner_pid, heartbeat_at, ") +
                            kNowUnixSeconds + " - heartbeat_at FROM runs WHERE id = ?1");
  select.bind(1, id);
  if (!select.step()) throwError(ctx, "no run '" + id + "' in the store");
  Row row(select);
  ClaimRow claim;
  claim.status = parseStatus(row.text());
  claim.kind = parseKind(row.text());
  claim.ended_at = row.text();
  claim.has_token = !row.isNull();
  claim.token = row.text();
  claim.owner.host = row.text();
  claim.owner.pid = row.integer();
  claim.owner.heartbeat_at = row.known();
  claim.owner.heartbeat_age_s = row.known();
  claim.owner.holds = claim.has_token && claim.status == RunStatus::Running;
  return claim;
}

/// Whether /proc says `pid` is a zombie: killed, not yet reaped by its parent (or, for an
/// orphan, by init, which may take seconds). It will never write again.
bool isZombie(std::int64_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  // Format (proc(5)): "pid (comm) state ...", where comm may itself hold spaces or ')'.
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

/// kill(pid, 0) probes a process without signalling it: ESRCH means there is none. EPERM
/// means it exists under another user, which still counts as alive. A zombie is dead.
bool processExists(std::int64_t pid) {
  if (pid <= 0) return false;
  const bool exists = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
  return exists && !isZombie(pid);
}

/// Whether the owner of a running run is gone, so its claim may be taken over.
bool ownerGone(const ClaimRow& row, const ClaimRequest& request) {
  if (!row.has_token) return true;  // released, or recorded before claims existed
  if (row.owner.heartbeat_age_s > request.stale_after_s) return true;
  // Same host: the process table is authoritative, no need to wait for the heartbeat.
  return row.owner.host == request.host && row.owner.pid != request.pid &&
         !processExists(row.owner.pid);
}

ClaimResult decide(const ClaimRow& row, const ClaimRequest& request) {
  if (row.kind != RunKind::Train) return ClaimResult::Finished;
  switch (row.status) {
    case RunStatus::Finished:
      return ClaimResult::Finished;
    case RunStatus::Queued:
    case RunStatus::Interrupted:  // stopped gracefully: resume it
      return ClaimResult::Claimed;
    case RunStatus::Failed:
      // ISO 8601 UTC strings of one format order as their instants.
      return !request.retry_failed_before.empty() && row.ended_at < request.retry_failed_before
                 ? ClaimResult::Claimed
                 : ClaimResult::FailedLately;
    case RunStatus::Running:
      if (row.has_token && row.token == request.token) return ClaimResult::Claimed;
      if (!ownerGone(row, request)) return ClaimResult::HeldByOther;
      return row.has_token ? ClaimResult::TakenOver : ClaimResult::Claimed;
  }
  return ClaimResult::HeldByOther;
}

}  // namespace

const char* claimResultName(ClaimResult result) {
  switch (result) {
    case ClaimResult::Claimed:
      return "claimed";
    case ClaimResult::TakenOver:
      return "taken over";
    case ClaimResult::HeldByOther:
      return "held by another process";
    case ClaimResult::Finished:
      return "finished";
    case ClaimResult::FailedLately:
      return "failed in this invocation";
  }
  return "unknown";
}

std::string newClaimToken() {
  std::random_device device;
  std::uniform_int_distribution<std::uint32_t> word;
  std::string token;
  for (int i = 0; i < 4; ++i) token += fmt::format("{:08x}", word(device));
  return token;
}

std::string thisHost() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

Claim SqliteStore::claimRun(const ClaimRequest& request) {
  const Context ctx{db_, path_, "claiming run '" + request.run_id + "'"};
  if (request.token.empty()) throwError(ctx, "a claim needs a token");
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  const ClaimRow row = readClaimRow(ctx, request.run_id);
  Claim claim{decide(row, request), row.status, row.owner};
  if (claim.result != ClaimResult::Claimed && claim.result != ClaimResult::TakenOver) {
    return claim;  // the transaction rolls back: nothing written
  }
  // Conditional on the row being as read: the UPDATE must change exactly one row.
  Statement update(ctx, std::string("UPDATE runs SET status = 'running', owner_host = ?1, "
                                    "owner_pid = ?2, owner_token = ?3, heartbeat_at = ") +
                            kNowUnixSeconds +
                            " WHERE id = ?4 AND status = ?5 AND owner_token IS ?6");
  update.bind(1, request.host).bind(2, request.pid).bind(3, request.token);
  update.bind(4, request.run_id).bind(5, std::string(statusName(row.status)));
  if (row.has_token) {
    update.bind(6, row.token);
  } else {
    update.bindNull(6);
  }
  update.run();
  if (sqlite3_changes(db_) != 1) throwError(ctx, "the run changed while it was being claimed");
  transaction.commit();
  return claim;
}

bool SqliteStore::renewClaim(const std::string& id, const std::string& token) {
  const Context ctx{db_, path_, "renewing the claim on run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  Statement update(ctx, std::string("UPDATE runs SET heartbeat_at = ") + kNowUnixSeconds +
                            " WHERE id = ?1 AND owner_token = ?2 AND status = 'running'");
  update.bind(1, id).bind(2, token).run();
  const bool held = sqlite3_changes(db_) == 1;
  transaction.commit();
  return held;
}

void SqliteStore::releaseClaim(const std::string& id, const std::string& token) {
  const Context ctx{db_, path_, "releasing the claim on run '" + id + "'"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  Statement update(ctx,
                   "UPDATE runs SET owner_token = NULL, heartbeat_at = NULL "
                   "WHERE id = ?1 AND owner_token = ?2");
  update.bind(1, id).bind(2, token).run();
  transaction.commit();
}

void SqliteStore::interruptRun(const std::string& id, const std::string& token,
                               const std::string& reason) {
  const Context ctx{db_, path_, "marking run '" + id + "' interrupted"};
  Transaction transaction(ctx, "BEGIN IMMEDIATE");
  Statement update(ctx, std::string("UPDATE runs SET status = 'interrupted', error = ?3, "
                                    "ended_at = ?4, owner_token = NULL, heartbeat_at = NULL "
                                    "WHERE id = ?1 AND owner_token = ?2"));
  update.bind(1, id).bind(2, token).bind(3, reason).bind(4, core::utcNowIso8601()).run();
  transaction.commit();
}

void SqliteStore::requireOwnership(const std::string& id) const {
  if (owner_token_.empty()) return;
  const Context ctx{db_, path_, "checking the claim on run '" + id + "'"};
  Statement select(ctx, "SELECT owner_token FROM runs WHERE id = ?1");
  select.bind(1, id);
  const std::string token = select.step() ? Row(select).text() : std::string();
  if (token != owner_token_) {
    throw ClaimLost(
        fmt::format("{}: run {} is no longer this process's: another process took "
                    "its claim over (this one was stopped or stalled for longer "
                    "than the stale limit); it trains the run from here",
                    path_, id));
  }
}

}  // namespace ferlab::tracking
