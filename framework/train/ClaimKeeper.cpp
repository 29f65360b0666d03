#include "framework/train/ClaimKeeper.h"

#include <chrono>
#include <memory>
#include <utility>

#include "framework/core/Log.h"

namespace ferlab::train {

ClaimKeeper::ClaimKeeper(const std::string& db_path, tracking::Journal journal, std::string run_id,
                         std::string token, double interval_s)
    : run_id_(std::move(run_id)), token_(std::move(token)), interval_s_(interval_s) {
  if (journal != tracking::Journal::Wal) return;
  store_ = std::make_unique<tracking::SqliteStore>(db_path, tracking::OpenMode::ReadWrite, journal);
  thread_ = std::thread([this] { beat(); });
}

ClaimKeeper::~ClaimKeeper() {
  if (!thread_.joinable()) return;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ClaimKeeper::beat() {
  const auto interval = std::chrono::duration<double>(interval_s_);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    try {
      if (!store_->renewClaim(run_id_, token_)) {
        log::warn("run {}: its claim was taken over by another process", run_id_);
        lost_ = true;
        return;
      }
    } catch (const std::exception& error) {
      // A busy store past the 60 s timeout: the next beat tries again; a claim that really
      // went stale is caught by the ownership check of the next write.
      log::warn("run {}: renewing its claim failed: {}", run_id_, error.what());
    }
  }
}

}  // namespace ferlab::train
