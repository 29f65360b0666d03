#include "framework/train/Checkpoints.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <regex>
#include <streambuf>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/core/Log.h"

namespace ferlab::train {
namespace {

namespace fs = std::filesystem;

// A stream buffer onto a file descriptor that never reports failure to its writer but remembers
// the first one. LibTorch's zip writer must not see a failed write: it throws, and its
// destructor then throws again while unwinding, which ends the process (std::terminate) with a
// half-written file. Checked after save_to returns instead.
class FileSink : public std::streambuf {
 public:
  explicit FileSink(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {
    if (fd_ < 0) error_ = errno;
  }
  ~FileSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  /// Flushes to the disk and closes; returns the first errno seen (0: all written).
  int finish() {
    if (fd_ >= 0) {
      if (error_ == 0 && ::fsync(fd_) != 0) error_ = errno;
      if (::close(fd_) != 0 && error_ == 0) error_ = errno;
      fd_ = -1;
    }
    return error_;
  }

 protected:
  std::streamsize xsputn(const char* data, std::streamsize size) override {
    for (std::streamsize done = 0; error_ == 0 && done < size;) {
      const ssize_t n = ::write(fd_, data + done, static_cast<std::size_t>(size - done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) error_ = errno;
      if (n > 0) done += n;
    }
    return size;  // always "written": the failure is reported by finish()
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      const char byte = traits_type::to_char_type(c);
      xsputn(&byte, 1);
    }
    return traits_type::not_eof(c);
  }

 private:
  int fd_;
  int error_ = 0;
};

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
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {
    throw TrainError(
        fmt::format("{}: unreadable checkpoint: {}", bestPath(), checkpointErrorReason(error)));
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
  int error = 0;
  {
    FileSink sink(temporary);
    std::ostream stream(&sink);
    archive.save_to(stream);
    error = sink.finish();
  }
  if (error != 0) {
    std::error_code ignored;
    fs::remove(temporary, ignored);  // never leave a partial checkpoint behind
    // The same command resumes once the cause is gone; say which cause to remove.
    const bool full = error == ENOSPC || error == EDQUOT;
    throw TrainError(fmt::format(
        "{}: writing the checkpoint failed: {}; nothing partial is left: {} and run the grid "
        "again",
        path, std::strerror(error), full ? "free space" : "make the results folder writable"));
  }
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

std::string checkpointErrorReason(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error))
    return torch_error->what_without_backtrace();
  return error.what();
}

void loadModelCheckpoint(torch::nn::Module& model, const std::string& path,
                         const torch::Device& device) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    model.load(archive);
  } catch (const std::exception& error) {
    throw TrainError(
        fmt::format("{}: cannot load checkpoint: {}", path, checkpointErrorReason(error)));
  }
}

std::optional<CheckpointOwner> readOwner(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, torch::kCPU);
    CheckpointOwner owner{readString(archive, "owner_store_id"),
                          readString(archive, "owner_run_id")};
    if (owner.store_id.empty()) return std::nullopt;
    return owner;
  } catch (const std::exception& error) {
    throw TrainError(
        fmt::format("{}: unreadable checkpoint: {}", path, checkpointErrorReason(error)));
  }
}

}  // namespace ferlab::train
