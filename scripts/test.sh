#!/usr/bin/env bash
# The README's second command: set up, build and run every test. The tests labelled `gpu`
# run too: on a machine without a CUDA device each of them reports itself skipped (GTEST_SKIP)
# with the reason, so the CUDA path is never silently left out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 900
