#pragma once
// Running the real `ferlab` binary (FERLAB_BINARY) from end-to-end tests, and copying small
// slices of FER2013 into a test folder. Shared by tests/integration and tests/cli.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ferlab::e2e {

struct CommandResult {
  int exit_code = -1;  ///< -1 when the process could not start or did not exit normally
  std::string output;  ///< stdout (and stderr with `merge_stderr`)
};

/// Runs `binary arguments` through the shell, with `environment` ("VAR=value ...", or any
/// env(1) options such as "-u VAR") prefixed; stderr is joined to stdout unless
/// `merge_stderr` is false.
inline CommandResult runProgram(const std::string& binary, const std::string& arguments,
                                bool merge_stderr = true, const std::string& environment = "") {
  const std::string command = (environment.empty() ? "" : "env " + environment + " ") + binary +
                              " " + arguments + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
    result.output.append(buffer, n);
  }
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

/// runProgram with the `ferlab` binary of this build (FERLAB_BINARY).
inline CommandResult runFerlab(const std::string& arguments, bool merge_stderr = true,
                               const std::string& environment = "") {
  return runProgram(FERLAB_BINARY, arguments, merge_stderr, environment);
}

/// The whole content of the file at `path` ("" when it cannot be read), e.g. a process's log.
inline std::string readText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Starts `ferlab args...` (FERLAB_BINARY, no shell) in the background with stdout and stderr
/// in `log` (created or truncated; "/dev/null" discards them); returns its pid for kill(2) and
/// waitpid(2).
inline pid_t startFerlab(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(FERLAB_BINARY)};
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(FERLAB_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

/// Copies the first `count` files (by name) of `from` whose name starts with `prefix` into
/// `to`, creating it.
inline void copyFirstFiles(const std::filesystem::path& from, const std::filesystem::path& to,
                           const std::string& prefix, int count) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::filesystem::create_directories(to);
  const std::size_t n = std::min(files.size(), static_cast<std::size_t>(std::max(count, 0)));
  for (std::size_t i = 0; i < n; ++i)
    std::filesystem::copy_file(files[i], to / files[i].filename());
}

}  // namespace ferlab::e2e
