#!/usr/bin/env bash
# Configures and builds FERLab (Release, Ninja, ccache when present) into build/.
# Extra arguments go to CMake, e.g. scripts/build.sh -DCMAKE_PREFIX_PATH=/path/to/libtorch
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
