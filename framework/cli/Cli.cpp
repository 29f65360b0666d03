#include "framework/cli/Cli.h"

#include <exception>
#include <iostream>

#include <fmt/format.h>

#include "framework/core/Errors.h"

namespace ferlab::cli {
namespace {

constexpr const char* kUsage =
    R"(ferlab: train, track and compare facial-expression-recognition experiments

usage: ferlab <command> [options]

commands:
  run CONFIG      train every run of an experiment grid and record it (resumable)
  ls              list recorded runs (--json for scripts)
  show RUN        one run: resolved config, metrics per class, confusion matrix
  report          write a self-contained HTML report of recorded runs
  predict --run RUN IMAGE...
                  classify the expression of every face in photos with a trained run
  evaluate --run RUN --data PATH
                  cross-dataset evaluation of a run's selected checkpoint, recorded
  export          runs, epoch histories or predictions as CSV or JSON
  plot            SVG/PNG figures: learning curves, confusion matrices, comparison
  augment-preview CONFIG -o FILE.png
                  a PNG grid of training images through the config's augmentation
  ledger          claimed vs obtained for every experiment with a [reference]
  archive -o DIR  finished runs as compact, lossless run archives (results/reproductions/)
  import ARCHIVE...
                  run archives back into a store (reports, ledger, ensembles)
  ensemble (RUN... | --experiment E) --name NAME
                  average finished runs' stored probabilities, members chosen on
                  PublicTest; recorded as a run of kind ensemble
  merge SHARD... --into DB
                  combine shard stores (one per Slurm array task) into one store
  sync --mlflow URI [RUN...]
                  push what an MLflow tracking server is missing of the store's runs
  submit CONFIG --slurm
                  run a grid as a Slurm job array (one task per cell, shard stores)
                  and a dependent merge job
  version         FERLab, LibTorch, CUDA and CPU capabilities of this build and machine

`ferlab <command> --help` describes each command's options.)";

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> all(argv + 1, argv + argc);
  if (all.empty()) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  if (all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
    std::cout << kUsage << "\n";
    return 0;
  }
  const std::string command = all[0];
  const std::vector<std::string> args(all.begin() + 1, all.end());
  try {
    if (command == "run") return runCommand(args);
    if (command == "ls") return listCommand(args);
    if (command == "show") return showCommand(args);
    if (command == "report") return reportCommand(args);
    if (command == "predict") return predictCommand(args);
    if (command == "evaluate") return evaluateCommand(args);
    if (command == "export") return exportCommand(args);
    if (command == "plot") return plotCommand(args);
    if (command == "ledger") return ledgerCommand(args);
    if (command == "archive") return archiveCommand(args);
    if (command == "import") return importCommand(args);
    if (command == "ensemble") return ensembleCommand(args);
    if (command == "merge") return mergeCommand(args);
    if (command == "sync") return syncCommand(args);
    if (command == "submit") return submitCommand(args);
    if (command == "augment-preview") return augmentPreviewCommand(args);
    if (command == "version" || command == "--version") return versionCommand(args);
    throw UsageError(fmt::format("unknown command '{}' (see ferlab --help)", command));
  } catch (const Interrupted& stop) {
    // Asked to stop, not failed: the run is recorded as interrupted and resumes.
    fmt::print(stderr, "ferlab {}: stopped: {}\n", command, stop.what());
    return stop.exitCode();
  } catch (const Error& error) {
    fmt::print(stderr, "ferlab {}: error: {}\n", command, error.what());
    return error.exitCode();
  } catch (const std::exception& error) {
    fmt::print(stderr, "ferlab {}: error: {}\n", command, error.what());
    return 1;
  }
}

}  // namespace ferlab::cli
