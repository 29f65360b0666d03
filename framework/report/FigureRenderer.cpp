#include "framework/report/FigureRenderer.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include <fmt/format.h>

#include "framework/core/Errors.h"
#include "framework/core/ResourcePaths.h"

extern char** environ;

namespace ferlab::report {
namespace {

namespace fs = std::filesystem;

// Runs `argv` (argv[0] searched on PATH unless it has a slash) with stdout sent to
// `log_path` and stderr inherited, so the user sees the program's own messages and warnings;
// returns the exit status (128 + signal when killed).
int runProgram(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> pointers;
  for (const auto& arg : argv) pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, pointers[0], &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw DataError(fmt::format("{}: cannot start ({}); run scripts/setup.sh", argv[0],
                                std::strerror(spawned)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw DataError(fmt::format("{}: waitpid failed", argv[0]));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The interpreter to run: options.python, else defaultPython(); throws DataError naming it
// (and where it came from) when it is not an executable file.
std::string pythonFor(const FigureOptions& options) {
  const char* configured = std::getenv("FERLAB_PYTHON");
  const bool from_env = options.python.empty() && configured != nullptr && *configured != '\0';
  const std::string python = options.python.empty() ? defaultPython() : options.python;
  if (::access(python.c_str(), X_OK) != 0 || fs::is_directory(python)) {
    throw DataError(fmt::format(
        "{}{}: no such Python interpreter (figures are drawn by vl-convert-python in the "
        "project's environment{}): run scripts/setup.sh",
        from_env ? "FERLAB_PYTHON=" : "", python,
        from_env ? "" : "; FERLAB_PYTHON names another interpreter"));
  }
  return python;
}

}  // namespace

std::string defaultPython() {
  return core::findResource({"the Python interpreter with vl-convert-python", ".venv/bin/python",
                             "FERLAB_PYTHON", "run scripts/setup.sh"});
}

std::vector<std::string> renderFigures(const std::vector<Figure>& figures, const std::string& dir,
                                       const FigureOptions& options) {
  if (!options.svg && !options.png) throw DataError("renderFigures: no format requested");
  if (!(options.png_scale > 0)) {
    throw DataError(fmt::format("renderFigures: PNG scale {} is not positive", options.png_scale));
  }
  // Check what can be checked before drawing anything; a missing vl-convert-python is
  // reported by the script (status 3).
  const std::string python = pythonFor(options);
  const std::string script =
      options.script.empty()
          ? core::findResource({"the figure renderer", "scripts/render_vega.py", nullptr,
                                "copy scripts/render_vega.py of the FERLab source there"})
          : options.script;
  if (!fs::is_regular_file(script)) {
    throw DataError(fmt::format("{}: renderer script missing: run scripts/setup.sh", script));
  }

  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw DataError(fmt::format("{}: cannot create ({})", dir, error.message()));
  const fs::path scratch = fs::path(dir) / fmt::format(".ferlab-plot-{}", ::getpid());
  fs::create_directories(scratch);
  struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{scratch};

  // One Python process for all figures: starting it and vl-convert's JavaScript runtime
  // dominates the cost of a figure.
  nlohmann::json jobs = {{"png_scale", options.png_scale}, {"figures", nlohmann::json::array()}};
  std::vector<std::string> written;
  for (const auto& figure : figures) {
    nlohmann::json job = {{"spec", figure.spec}, {"svg", nullptr}, {"png", nullptr}};
    const std::pair<bool, const char*> formats[] = {{options.svg, "svg"}, {options.png, "png"}};
    for (const auto& [wanted, format] : formats) {
      if (!wanted) continue;
      written.push_back((fs::path(dir) / (figure.name + "." + format)).string());
      job[format] = written.back();
    }
    jobs["figures"].push_back(std::move(job));
  }
  const fs::path jobs_path = scratch / "jobs.json";
  std::ofstream(jobs_path) << jobs.dump();
  const fs::path log = scratch / "render.log";
  const int status = runProgram({python, script, jobs_path.string()}, log.string());
  if (status == 3) {
    throw DataError(
        fmt::format("{}: the Python package vl-convert-python (module vl_convert) is missing: run "
                    "scripts/setup.sh",
                    python));
  }
  if (status != 0) {
    throw DataError(
        fmt::format("{} {} failed with status {} (its message is above)", python, script, status));
  }
  for (const std::string& path : written) {
    if (!fs::is_regular_file(path)) {
      throw DataError(fmt::format("{}: not written by {} ({})", path, script, readFile(log)));
    }
  }
  return written;
}

}  // namespace ferlab::report
