// Run claims (SqliteStore::claimRun): one owner at a time, takeover of a stale or dead owner,
// a lost claim writes nothing; shard stores' rollback journal; mergeRun's idempotence; and the
// filesystem detection that keeps WAL off network filesystems.

#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "framework/core/Errors.h"
#include "framework/core/FilesystemType.h"
#include "framework/core/Provenance.h"
#include "framework/tracking/RunArchive.h"
#include "framework/tracking/SqliteStore.h"

namespace ferlab::tracking {
namespace {

namespace fs = std::filesystem;

class RunClaimsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ferlab-claims-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "ferlab.db").string();
    SqliteStore store(path_);
    for (const char* id : {"run-a", "run-b"}) {
      RunRecord run;
      run.id = id;
      run.experiment = "claims";
      run.name = std::string("claims[") + id + "]";
      store.ensureRun(run);
    }
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  /// A claim from `pid` on `host`. Owners on the test's host must be live processes (this
  /// one), or claimRun rightly takes their runs over as gone.
  ClaimRequest request(const std::string& id, std::int64_t pid, double stale_after_s = 60,
                       const std::string& host = "host-under-test") {
    return {id, host, pid, newClaimToken(), stale_after_s, ""};
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(RunClaimsTest, AQueuedRunIsClaimedOnceAndOthersSeeItsOwner) {
  SqliteStore first(path_), second(path_);
  const auto mine = request("run-a", ::getpid());
  const Claim claim = first.claimRun(mine);
  EXPECT_EQ(claim.result, ClaimResult::Claimed);
  EXPECT_EQ(claim.previous, RunStatus::Queued);
  const Claim other = second.claimRun(request("run-a", ::getpid() + 1));
  EXPECT_EQ(other.result, ClaimResult::HeldByOther);
  EXPECT_EQ(other.holder.host, "host-under-test");
  EXPECT_EQ(other.holder.pid, ::getpid());
  const RunRow row = second.getRun("run-a");
  EXPECT_EQ(row.record.status, RunStatus::Running);
  EXPECT_TRUE(row.record.owner.holds);
  EXPECT_EQ(row.record.owner.pid, ::getpid());
  EXPECT_GE(row.record.owner.heartbeat_age_s, 0.0);
  EXPECT_LT(row.record.owner.heartbeat_age_s, 30.0);
  EXPECT_TRUE(first.renewClaim("run-a", mine.token));
  EXPECT_FALSE(second.renewClaim("run-a", "not-the-token"));
}

TEST_F(RunClaimsTest, ManyConnectionsRacingForOneRunYieldExactlyOneOwner) {
  std::atomic<int> claimed{0}, held{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      SqliteStore store(path_);
      // Another host: only the claims decide, not the process table.
      const auto result =
          store.claimRun(request("run-b", 1000 + i, 60, "host-" + std::to_string(i))).result;
      (result == ClaimResult::Claimed ? claimed : held)++;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(claimed.load(), 1);
  EXPECT_EQ(held.load(), 7);
}

TEST_F(RunClaimsTest, AStaleClaimIsTakenOverAndTheOldOwnerCanWriteNothing) {
  SqliteStore old_owner(path_), new_owner(path_);
  // Another host: only the heartbeat tells whether the owner lives.
  const auto old_request = request("run-a", 100, 0.2, "another-host");
  ASSERT_EQ(old_owner.claimRun(old_request).result, ClaimResult::Claimed);
  old_owner.writeAsOwner(old_request.token);
  old_owner.recordEpoch("run-a", EpochRecord{1}, RunSummary{});
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // no heartbeat: stale
  const auto new_request = request("run-a", 200, 0.2);
  const Claim takeover = new_owner.claimRun(new_request);
  EXPECT_EQ(takeover.result, ClaimResult::TakenOver);
  EXPECT_EQ(takeover.holder.pid, 100);
  EXPECT_GT(takeover.holder.heartbeat_age_s, 0.2);
  // The old owner wakes up: every write of its run throws ClaimLost and changes nothing.
  EpochRecord second_epoch;
  second_epoch.epoch = 2;
  EXPECT_THROW(old_owner.recordEpoch("run-a", second_epoch, RunSummary{}), ClaimLost);
  EXPECT_THROW(old_owner.finishRun("run-a", RunSummary{}, {}, {}), ClaimLost);
  EXPECT_THROW(old_owner.failRun("run-a", "boom"), ClaimLost);
  EXPECT_FALSE(old_owner.renewClaim("run-a", old_request.token));
  EXPECT_EQ(new_owner.epochs("run-a").size(), 1u);
  EXPECT_EQ(new_owner.getRun("run-a").record.owner.pid, 200);
  EXPECT_EQ(new_owner.getRun("run-a").record.status, RunStatus::Running);
}

TEST_F(RunClaimsTest, AnOwnerWhoseProcessIsGoneFromThisHostIsTakenOverAtOnce) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  SqliteStore dead(path_), alive(path_);
  ClaimRequest gone = request("run-a", child, 3600);
  ASSERT_EQ(dead.claimRun(gone).result, ClaimResult::Claimed);
  // Exited but not reaped yet: a zombie (kill(pid, 0) still succeeds) is gone all the same.
  // WNOWAIT waits for the exit and leaves the child unreaped, a zombie, whatever the load.
  siginfo_t exited{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &exited, WEXITED | WNOWAIT), 0);
  // The claimer's pid must differ from the owner's: on a quiet machine the child is often
  // getpid() + 1, and a claimer with the owner's own pid is the owner itself.
  const pid_t other = std::max(child, ::getpid()) + 1;
  ClaimRequest zombie_check = request("run-a", other, 3600);
  EXPECT_EQ(alive.claimRun(zombie_check).result, ClaimResult::TakenOver);
  alive.releaseClaim("run-a", zombie_check.token);
  ASSERT_EQ(dead.claimRun(request("run-a", child, 3600)).result, ClaimResult::Claimed);
  ::waitpid(child, nullptr, 0);  // its pid now names no process
  // Same host, fresh heartbeat, but the process table says the owner is gone.
  ClaimRequest next = request("run-a", ::getpid(), 3600);
  EXPECT_EQ(alive.claimRun(next).result, ClaimResult::TakenOver);
  // A live owner on this host (this very process) is respected.
  ClaimRequest third = request("run-a", other, 3600);
  EXPECT_EQ(alive.claimRun(third).result, ClaimResult::HeldByOther);
}

TEST_F(RunClaimsTest, AReleasedRunIsClaimableAndFinishedOrFreshlyFailedRunsAreNot) {
  SqliteStore store(path_);
  const auto first = request("run-a", 100);
  ASSERT_EQ(store.claimRun(first).result, ClaimResult::Claimed);
  store.releaseClaim("run-a", first.token);
  EXPECT_FALSE(store.getRun("run-a").record.owner.holds);
  const auto second = request("run-a", 200);
  const Claim resumed = store.claimRun(second);
  EXPECT_EQ(resumed.result, ClaimResult::Claimed);
  EXPECT_EQ(resumed.previous, RunStatus::Running);
  store.writeAsOwner(second.token);
  store.finishRun("run-a", RunSummary{}, {}, {});
  EXPECT_FALSE(store.getRun("run-a").record.owner.holds);
  EXPECT_EQ(store.getRun("run-a").record.owner.pid, 200);  // kept as provenance
  EXPECT_EQ(store.claimRun(request("run-a", 300)).result, ClaimResult::Finished);

  const auto failing = request("run-b", 100);
  ASSERT_EQ(store.claimRun(failing).result, ClaimResult::Claimed);
  store.writeAsOwner(failing.token);
  store.failRun("run-b", "diverged");
  store.writeAsOwner("");
  // Failed in this invocation: not retried. Failed before it: restarted.
  auto retry = request("run-b", 200);
  retry.retry_failed_before = "2000-01-01T00:00:00Z";
  EXPECT_EQ(store.claimRun(retry).result, ClaimResult::FailedLately);
  retry.retry_failed_before = "2999-01-01T00:00:00Z";
  const Claim restarted = store.claimRun(retry);
  EXPECT_EQ(restarted.result, ClaimResult::Claimed);
  EXPECT_EQ(restarted.previous, RunStatus::Failed);
}

// A rerun often starts within the second its run failed (CI saw it): the failure must still
// count as before the rerun, so the times compare to the millisecond.
TEST_F(RunClaimsTest, ARunThatFailedMillisecondsBeforeTheInvocationIsRetried) {
  SqliteStore store(path_);
  const auto failing = request("run-a", 100);
  ASSERT_EQ(store.claimRun(failing).result, ClaimResult::Claimed);
  store.writeAsOwner(failing.token);
  store.failRun("run-a", "disk full");
  store.writeAsOwner("");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto rerun = request("run-a", 200);
  rerun.retry_failed_before = core::utcNowIso8601();
  EXPECT_EQ(store.claimRun(rerun).result, ClaimResult::Claimed)
      << "failed at " << store.getRun("run-a").record.ended_at << ", rerun at "
      << rerun.retry_failed_before;
}

TEST_F(RunClaimsTest, AnInterruptedRunIsMarkedSoAndResumedByTheNextClaimer) {
  SqliteStore store(path_);
  const auto first = request("run-a", ::getpid());
  ASSERT_EQ(store.claimRun(first).result, ClaimResult::Claimed);
  store.interruptRun("run-a", "someone-else's-token", "SIGTERM received");  // not its owner
  EXPECT_EQ(store.getRun("run-a").record.status, RunStatus::Running);
  store.interruptRun("run-a", first.token, "SIGTERM received in epoch 2 at step 3/4");
  const RunRow row = store.getRun("run-a");
  EXPECT_EQ(row.record.status, RunStatus::Interrupted);
  EXPECT_EQ(row.record.error, "SIGTERM received in epoch 2 at step 3/4");
  EXPECT_FALSE(row.record.owner.holds);
  const Claim resumed = store.claimRun(request("run-a", ::getpid()));
  EXPECT_EQ(resumed.result, ClaimResult::Claimed);
  EXPECT_EQ(resumed.previous, RunStatus::Interrupted);
}

// Schema v10 widens runs.status's CHECK in place: a v9 store (the old CHECK) migrates and then
// accepts 'interrupted', keeping its rows.
TEST_F(RunClaimsTest, SchemaTenWidensTheStatusCheckOfAnOlderStore) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  const char* downgrade =
      "PRAGMA writable_schema = ON;"
      "UPDATE sqlite_schema SET sql = replace(sql, '''failed'', ''interrupted''))', "
      "'''failed''))') WHERE name = 'runs';"
      "PRAGMA writable_schema = OFF; ALTER TABLE epochs DROP COLUMN checkpoint_hash; "
      "PRAGMA user_version = 9;";
  ASSERT_EQ(sqlite3_exec(db, downgrade, nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE runs SET status = 'interrupted'", nullptr, nullptr, nullptr),
            SQLITE_OK)
      << "the v9 CHECK refuses 'interrupted'";
  sqlite3_close(db);

  SqliteStore store(path_);
  EXPECT_EQ(store.schemaVersion(), SqliteStore::currentSchemaVersion());
  const auto claim = request("run-b", ::getpid());
  ASSERT_EQ(store.claimRun(claim).result, ClaimResult::Claimed);
  store.interruptRun("run-b", claim.token, "SIGINT received");
  EXPECT_EQ(store.getRun("run-b").record.status, RunStatus::Interrupted);
  EXPECT_EQ(store.listRuns("claims").size(), 2u);
}

TEST_F(RunClaimsTest, AShardStoreUsesTheRollbackJournal) {
  const std::string shard = (dir_ / "cell-0.db").string();
  { SqliteStore store(shard, OpenMode::ReadWrite, Journal::Rollback); }
  EXPECT_FALSE(fs::exists(shard + "-wal"));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(shard.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)), "delete");
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

TEST_F(RunClaimsTest, MergingAShardTwiceChangesNothingAndALaterStateReplacesAnEarlierOne) {
  const std::string shard_path = (dir_ / "shard.db").string();
  SqliteStore shard(shard_path, OpenMode::ReadWrite, Journal::Rollback);
  RunRecord run;
  run.id = "cell-run";
  run.experiment = "merged";
  run.name = "merged[seed=1]";
  shard.ensureRun(run);
  const auto token = request("cell-run", 100);
  ASSERT_EQ(shard.claimRun(token).result, ClaimResult::Claimed);
  shard.writeAsOwner(token.token);
  RunSummary summary;
  summary.last_epoch = 1;
  shard.recordEpoch("cell-run", EpochRecord{1}, summary);

  SqliteStore into((dir_ / "merged.db").string());
  EXPECT_EQ(into.mergeRun(snapshotRun(shard, "cell-run")), MergeOutcome::Added);
  EXPECT_EQ(into.mergeRun(snapshotRun(shard, "cell-run")), MergeOutcome::Unchanged);
  EXPECT_EQ(into.getRun("cell-run").record.status, RunStatus::Running);
  EXPECT_FALSE(into.getRun("cell-run").record.owner.holds);  // a merged run has no owner here

  EpochRecord second;
  second.epoch = 2;
  summary.last_epoch = 2;
  summary.test_accuracy = 0.5;
  shard.recordEpoch("cell-run", second, summary);
  shard.finishRun("cell-run", summary, {}, {});
  EXPECT_EQ(into.mergeRun(snapshotRun(shard, "cell-run")), MergeOutcome::Replaced);
  EXPECT_EQ(into.epochs("cell-run").size(), 2u);
  EXPECT_EQ(into.getRun("cell-run").record.status, RunStatus::Finished);
  EXPECT_EQ(into.mergeRun(snapshotRun(shard, "cell-run")), MergeOutcome::Unchanged);
}

TEST(FilesystemTypeTest, NetworkFilesystemsAreToldFromLocalOnes) {
  EXPECT_TRUE(core::classifyFilesystem(0x6969).network);  // NFS_SUPER_MAGIC
  EXPECT_EQ(core::classifyFilesystem(0x6969).name, "nfs");
  EXPECT_TRUE(core::classifyFilesystem(0x0BD00BD0).network);  // Lustre
  EXPECT_TRUE(core::classifyFilesystem(0xFF534D42).network);  // CIFS
  EXPECT_TRUE(core::classifyFilesystem(0x65735546, "fuse.sshfs").network);
  EXPECT_FALSE(core::classifyFilesystem(0x65735546, "fuse.squashfuse").network);
  EXPECT_FALSE(core::classifyFilesystem(0xEF53).network);
  EXPECT_FALSE(core::classifyFilesystem(0x01021994).network);  // tmpfs
  EXPECT_EQ(core::classifyFilesystem(0x12345678).name, "0x12345678");
  // The real filesystems of this machine: local, and a path that does not exist yet resolves
  // to its nearest existing parent.
  const auto temp = core::filesystemTypeOf(fs::temp_directory_path().string());
  EXPECT_FALSE(temp.network) << temp.name;
  EXPECT_EQ(core::filesystemTypeOf((fs::temp_directory_path() / "no/such/store.db").string()).magic,
            temp.magic);
  EXPECT_EQ(core::filesystemTypeOf("/proc/self").name, "0x9fa0");  // procfs: not in the table
}

}  // namespace
}  // namespace ferlab::tracking
