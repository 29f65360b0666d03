#!/usr/bin/env bash
# The README's second command: set up, build and run every test (GPU-labelled tests are
# skipped on machines without CUDA).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
labels=(-LE gpu)
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then labels=(); fi
ctest --test-dir build --output-on-failure -j2 --timeout 900 "${labels[@]}"
