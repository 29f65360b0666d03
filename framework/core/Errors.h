#pragma once
// Typed exceptions thrown by the FERLab library. Only the CLI catches them; it prints the
// message as one line and returns exitCode(). Every message names the file, line, key or
// path at fault, so the user never has to guess which input was wrong.

#include <stdexcept>
#include <string>

namespace ferlab {

/// Base of all FERLab errors. exitCode(): 2 for usage/config errors, 1 for runtime failures
/// (the CLI contract in README.md).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual int exitCode() const { return 1; }
};

/// Bad command-line usage (unknown option, missing argument). Exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
  int exitCode() const override { return 2; }
};

/// Bad experiment config: unknown key, wrong type, out-of-range value. The message starts
/// with `file:line:column:` (or `--set key`) so editors can jump to it. Exit code 2.
class ConfigError : public Error {
 public:
  using Error::Error;
  int exitCode() const override { return 2; }
};

/// Bad or unreadable data: image, CSV row, dataset layout, cache file. Exit code 1.
class DataError : public Error {
 public:
  using Error::Error;
};

/// Tracking-store failure (SQLite error, unknown run id). Exit code 1.
class StoreError : public Error {
 public:
  using Error::Error;
};

/// Failure while building or training a model (bad checkpoint, shape mismatch). Exit code 1.
class TrainError : public Error {
 public:
  using Error::Error;
};

/// A mirror (TensorBoard event file) could not be written; the message names the file. The
/// mirrors catch it themselves: it never reaches the CLI nor stops training. Exit code 1.
class MirrorError : public Error {
 public:
  using Error::Error;
};

/// This process no longer holds the claim on the run it was writing (SqliteStore::claimRun):
/// another process took it over as stale. The run is not failed; its new owner goes on.
/// Exit code 1.
class ClaimLost : public Error {
 public:
  using Error::Error;
};

/// SIGINT or SIGTERM asked the process to stop (core/StopSignal.h). Exit code 128 + signal
/// (130, 143), the shell's convention for a process ended by that signal.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& message, int signal) : Error(message), signal_(signal) {}
  int exitCode() const override { return 128 + signal_; }
  int signal() const { return signal_; }

 private:
  int signal_;
};

}  // namespace ferlab
