#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run of the unit tests (issue 13), kept out of
# .ci/run because the instrumented build and run do not fit CI's budget on 2 cores.
#
#   bash bench/sanitize.sh                 # configure + build build-asan/, run the unit tests
#   SANITIZE_BUILD_ONLY=1 bash bench/sanitize.sh
#   SANITIZE_CTEST_ARGS="-R SqliteStore" bash bench/sanitize.sh
#
# Knobs: SANITIZE_BUILD_DIR (build-asan), SANITIZE_JOBS (2), FERLAB_PYTHON (.venv/bin/python:
# its torch provides LibTorch, and the reference tests run it), FERLAB_SHARED_DATA (../shared/data).
#
# What runs: the gtest executables of the unit labels (core, config, data, tracking, report,
# cli, models, train), and `ferlab` itself, which the cli tests start. Left out, by label:
# - integration: whole training runs through the binary, 20+ minutes uninstrumented, and most
#   of it kill -9s processes, which ends them before the sanitizers can report;
# - slurm, netfs: a local Slurm cluster or an sshfs mount, as root; they test the system set-up
#   around the binary, not memory use inside it;
# - browser: the report's JavaScript in headless Chromium;
# - gpu: no CUDA device on the CPU machines, and ASan needs protect_shadow_gap=0 under CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${SANITIZE_BUILD_DIR:-build-asan}
jobs=${SANITIZE_JOBS:-2}
python=${FERLAB_PYTHON:-$root/.venv/bin/python}
export FERLAB_SHARED_DATA=${FERLAB_SHARED_DATA:-$root/../shared/data}
export FERLAB_PYTHON=$python

# halt_on_error: the first report fails the test. detect_container_overflow=0: LibTorch's
# prebuilt libraries are not instrumented, so std::vector annotations done in FERLab's inlined
# code and not in theirs give false reports on vectors both touch (ASan's documented caveat).
# Leaks are checked (LeakSanitizer); bench/sanitize.supp lists the third-party ones.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:detect_container_overflow=0:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:print_stacktrace=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$root/bench/sanitize.supp:print_suppressions=1"

start=$(date +%s)
# -O1 -g1: ASan's recommended optimisation; -g1 keeps line tables for the reports but no
# variable info, which would double the objects built from the LibTorch headers.
nice -n 5 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DFERLAB_SANITIZE=ON -DFERLAB_PYTHON="$python" \
  -DFERLAB_TEST_DATA="$FERLAB_SHARED_DATA" >/dev/null
targets=(ferlab test_core test_config test_data test_tracking test_report test_cli
         test_models test_weights test_backbones test_train)
nice -n 5 cmake --build "$build" -j"$jobs" --target "${targets[@]}"
built=$(date +%s)
echo "sanitize: build took $((built - start)) s"
[[ ${SANITIZE_BUILD_ONLY:-0} == 1 ]] && exit 0

# The report tests inline the chart bundle from reports/assets/ (ignored by git), written
# from FERLAB_PYTHON's vl-convert package; a no-op when it is already there.
bash scripts/install_report_assets.sh

# A test executable that was not built shows up as <name>_NOT_BUILT without labels, so the
# label filter keeps it out.
rc=0
nice -n 5 ctest --test-dir "$build" --output-on-failure -j"$jobs" \
  -L '^(core|config|data|tracking|report|cli|models|train)$' -LE '^(integration|slurm|netfs|browser|gpu)$' \
  ${SANITIZE_CTEST_ARGS:-} || rc=$?
echo "sanitize: tests took $(($(date +%s) - built)) s, exit code $rc"
exit $rc
