#include "framework/train/Checkpoints.h"

#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/core/Log.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;

const std::regex& pendingBestName() {
  static const std::regex pattern(R"(best\.e[0-9]+\.pt)");
  return pattern;
}

void removePendingBests(const std::string& run_dir, const std::string& keep) {
  std::error_code error;
  if (!fs::is_directory(run_dir, error)) return;
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, pendingBestName()) || entry.path().string() == keep) continue;
    log::warn("{}: best checkpoint of an epoch the run never committed: deleted",
              entry.path().string());
    fs::remove(entry.path());
  }
}

std::string readString(torch::serialize::InputArchive& archive, const std::string& key) {
  c10::IValue value;
  if (!archive.try_read(key, value) || !value.isString()) return {};
  return value.toStringRef();
}

}  // namespace

std::string RunCheckpoints::pendingBestPath(int epoch) const {
  return fmt::format("{}/best.e{}.pt", run_dir_, epoch);
}

void RunCheckpoints::promoteBest(int epoch) const {
  fs::rename(pendingBestPath(epoch), bestPath());
}

void RunCheckpoints::reconcile(int best_epoch) const {
  const std::string pending = pendingBestPath(best_epoch);
  if (best_epoch > 0 && fs::exists(pending)) promoteBest(best_epoch);
  removePendingBests(run_dir_, "");
  if (best_epoch <= 0) return;
  if (!fs::exists(bestPath())) {
    throw TrainError(
        fmt::format("{}: missing, but last.pt records best epoch {}", bestPath(), best_epoch));
  }
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(bestPath(), torch::kCPU);
    torch::Tensor epoch;
    // Checkpoints from before the epoch was recorded in best.pt cannot be checked.
    if (archive.try_read("epoch", epoch) && epoch.item<double>() != best_epoch) {
      throw TrainError(fmt::format("{}: holds epoch {}, but last.pt records best epoch {}",
                                   bestPath(), epoch.item<double>(), best_epoch));
    }
  } catch (const c10::Error& error) {
    throw TrainError(
        fmt::format("{}: unreadable checkpoint: {}", bestPath(), error.what_without_backtrace()));
  }
}

void RunCheckpoints::clearUncommitted() const {
  removePendingBests(run_dir_, "");
  std::error_code error;
  if (fs::remove(bestPath(), error)) {
    log::warn("{}: left by a run killed before its first epoch was committed: deleted", bestPath());
  }
}

void saveAtomically(torch::serialize::OutputArchive& archive, const std::string& path,
                    const std::function<void(const std::string& temporary)>& before_rename) {
  const std::string temporary = path + ".tmp";
  archive.save_to(temporary);
  if (before_rename) before_rename(temporary);
  fs::rename(temporary, path);
}

void writeScalar(torch::serialize::OutputArchive& archive, const std::string& key, double value) {
  archive.write(key, torch::tensor(value, torch::kFloat64));
}

double readScalar(torch::serialize::InputArchive& archive, const std::string& key) {
  torch::Tensor value;
  archive.read(key, value);
  return value.item<double>();
}

void writeOwner(torch::serialize::OutputArchive& archive, const CheckpointOwner& owner) {
  archive.write("owner_store_id", c10::IValue(owner.store_id));
  archive.write("owner_run_id", c10::IValue(owner.run_id));
}

std::optional<CheckpointOwner> readOwner(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::kCPU);
    CheckpointOwner owner{readString(archive, "owner_store_id"),
                          readString(archive, "owner_run_id")};
    if (owner.store_id.empty()) return std::nullopt;
    return owner;
  } catch (const c10::Error& error) {
    throw TrainError(
        fmt::format("{}: unreadable checkpoint: {}", path, error.what_without_backtrace()));
  }
}

}  // namespace ferlab::train
