#pragma once
// Keeps a run's claim (tracking::SqliteStore::claimRun) alive while it trains: a background
// thread renews the heartbeat every `interval_s` through a connection of its own, so a run
// whose epochs last longer than the stale limit is never mistaken for a dead one. When a
// renewal finds the claim gone (another process took it over after this one stalled), lost()
// turns true; the trainer's next store write then throws ClaimLost in any case.
//
// A shard store (Journal::Rollback) has one writer by construction: no thread, no second
// connection (whose locks a network filesystem may not honour); renew() at each epoch is
// enough there.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "framework/tracking/SqliteStore.h"

namespace ferlab::train {

class ClaimKeeper {
 public:
  /// Starts renewing (Journal::Wal only). Throws StoreError when the store cannot be opened.
  ClaimKeeper(const std::string& db_path, tracking::Journal journal, std::string run_id,
              std::string token, double interval_s);
  /// Stops the thread (waits at most one SQLite busy timeout).
  ~ClaimKeeper();
  ClaimKeeper(const ClaimKeeper&) = delete;
  ClaimKeeper& operator=(const ClaimKeeper&) = delete;

  /// True once a renewal found the claim no longer this process's.
  bool lost() const { return lost_.load(); }

 private:
  void beat();

  std::string run_id_, token_;
  double interval_s_;
  std::unique_ptr<tracking::SqliteStore> store_;
  std::atomic<bool> lost_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ferlab::train
