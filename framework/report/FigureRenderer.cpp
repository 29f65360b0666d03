#include "framework/report/FigureRenderer.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "framework/core/Errors.h"
#include "framework/report/HtmlReport.h"

extern char** environ;

namespace ferlab::report {
namespace {

namespace fs = std::filesystem;

// Runs `argv` (argv[0] searched on PATH unless it has a slash) with stdout sent to
// `log_path`, stderr too with `quiet` (else inherited, so the user sees the program's own
// message); returns the exit status (128 + signal when killed).
int runProgram(const std::vector<std::string>& argv, const std::string& log_path, bool quiet) {
  std::vector<char*> pointers;
  for (const auto& arg : argv) pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (quiet) posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
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

// $`variable` when set, else the first of `names` found on PATH; throws DataError naming
// the program and the fix when none is found.
std::string locate(const char* variable, const std::vector<std::string>& names,
                   const std::string& purpose) {
  const char* configured = std::getenv(variable);
  if (configured != nullptr && *configured != '\0') {
    if (::access(configured, X_OK) != 0) {
      throw DataError(fmt::format("{}={}: no such executable (needed {}): run scripts/setup.sh",
                                  variable, configured, purpose));
    }
    return configured;
  }
  for (const auto& name : names) {
    if (auto path = findProgram(name); !path.empty()) return path;
  }
  throw DataError(
      fmt::format("{} not found on PATH (needed {}; set {} to override): run "
                  "scripts/setup.sh",
                  names.front(), purpose, variable));
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// CSS-pixel size from the root <svg width=".." height=".."> that Vega writes.
std::pair<int, int> svgSize(const fs::path& svg) {
  const std::string head = readFile(svg).substr(0, 1000);
  static const std::regex width(R"re(<svg[^>]*\swidth="([0-9.]+)")re"),
      height(R"re(<svg[^>]*\sheight="([0-9.]+)")re");
  std::smatch w, h;
  if (!std::regex_search(head, w, width) || !std::regex_search(head, h, height)) {
    throw DataError(fmt::format("{}: no width/height on the <svg> element", svg.string()));
  }
  return {static_cast<int>(std::ceil(std::stod(w[1]))),
          static_cast<int>(std::ceil(std::stod(h[1])))};
}

// Keeps the top-left `width` x `height` pixels of the PNG at `path`.
void cropPng(const fs::path& path, int width, int height) {
  const cv::Mat image = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  if (image.empty())
    throw DataError(fmt::format("{}: chromium wrote no readable PNG", path.string()));
  const cv::Rect box(0, 0, std::min(width, image.cols), std::min(height, image.rows));
  if (!cv::imwrite(path.string(), image(box))) {
    throw DataError(fmt::format("{}: cannot write the cropped PNG", path.string()));
  }
}

void screenshot(const std::string& chromium, const fs::path& svg, const fs::path& png, double scale,
                const fs::path& scratch) {
  const auto [width, height] = svgSize(svg);
  // Headless Chromium leaves a short window partly unpainted (a 695 x 103 chart came out as
  // its title only), so the window gets a generous minimum size and the PNG is cropped back.
  const int window_width = std::max(width, 800), window_height = std::max(height, 600);
  // --no-sandbox: Chromium refuses to run as root otherwise (containers, CI). A private
  // profile folder keeps parallel invocations apart.
  const std::vector<std::string> argv = {
      chromium,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--hide-scrollbars",
      "--no-first-run",
      "--user-data-dir=" + (scratch / "chromium").string(),
      fmt::format("--force-device-scale-factor={}", scale),
      fmt::format("--window-size={},{}", window_width, window_height),
      "--screenshot=" + png.string(),
      "file://" + fs::absolute(svg).string()};
  const fs::path log = scratch / "chromium.log";
  const int status = runProgram(argv, log.string(), true);  // D-Bus noise
  if (status != 0 || !fs::exists(png)) {
    throw DataError(fmt::format("{}: chromium exited with status {} ({})", png.string(), status,
                                readFile(log)));
  }
  cropPng(png, static_cast<int>(std::lround(width * scale)),
          static_cast<int>(std::lround(height * scale)));
}

}  // namespace

std::string findProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::stringstream folders(path);
  for (std::string folder; std::getline(folders, folder, ':');) {
    if (folder.empty()) continue;
    const fs::path candidate = fs::path(folder) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) {
      return candidate.string();
    }
  }
  return "";
}

std::vector<std::string> renderFigures(const std::vector<Figure>& figures, const std::string& dir,
                                       const FigureOptions& options) {
  if (!options.svg && !options.png) throw DataError("renderFigures: no format requested");
  const std::string modules =
      options.node_modules.empty() ? defaultAssetsDir() : options.node_modules;
  const std::string script = options.script.empty()
                                 ? std::string(FERLAB_SOURCE_DIR) + "/scripts/render_vega.mjs"
                                 : options.script;
  // Check every prerequisite before drawing anything.
  const std::string node = locate("FERLAB_NODE", {"node", "nodejs"}, "to draw figures");
  if (!fs::exists(script)) throw DataError(fmt::format("{}: renderer script missing", script));
  for (const char* package : {"vega", "vega-lite"}) {
    if (!fs::exists(fs::path(modules) / package / "package.json")) {
      throw DataError(
          fmt::format("{}/{}: npm package missing: run scripts/setup.sh", modules, package));
    }
  }
  const std::string chromium =
      options.png ? locate("FERLAB_CHROMIUM", {"chromium", "chromium-browser", "google-chrome"},
                           "for --format png")
                  : "";

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

  // One Node process for all figures: starting Node and loading Vega dominates the cost.
  nlohmann::json jobs = nlohmann::json::array();
  std::vector<fs::path> svgs;
  for (const auto& figure : figures) {
    svgs.push_back((options.svg ? fs::path(dir) : scratch) / (figure.name + ".svg"));
    jobs.push_back({{"spec", figure.spec}, {"svg", svgs.back().string()}});
  }
  const fs::path jobs_path = scratch / "jobs.json";
  std::ofstream(jobs_path) << jobs.dump();
  const int status = runProgram({node, script, jobs_path.string(), modules},
                                (scratch / "node.log").string(), false);
  if (status != 0) {
    throw DataError(fmt::format("{} {} failed with status {} (its message is above){}", node,
                                script, status, status == 3 ? ": run scripts/setup.sh" : ""));
  }

  std::vector<std::string> written;
  for (std::size_t i = 0; i < figures.size(); ++i) {
    if (options.svg) written.push_back(svgs[i].string());
    if (options.png) {
      const fs::path png = fs::path(dir) / (figures[i].name + ".png");
      screenshot(chromium, svgs[i], png, options.png_scale, scratch);
      written.push_back(png.string());
    }
  }
  return written;
}

}  // namespace ferlab::report
