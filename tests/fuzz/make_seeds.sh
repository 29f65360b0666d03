#!/usr/bin/env bash
# Writes the synthetic seeds of the fuzz corpus into tests/fuzz/corpus/<harness>/ (README,
# "Fuzzing"): images, CSVs, checkpoints and a store by make_fuzz_seeds (a build folder's,
# default build/), weight files by the .venv's torch, configs from the repository's own.
# Usage: tests/fuzz/make_seeds.sh [build folder]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
python=${FERLAB_PYTHON:-.venv/bin/python}
corpus=tests/fuzz/corpus
cmake --build "$build" --target make_fuzz_seeds >/dev/null
"$build/tests/make_fuzz_seeds" "$corpus"
"$python" tests/fuzz/make_weight_seeds.py "$corpus/WeightFile"
python3 tests/fuzz/make_config_seeds.py . "$corpus/ConfigLoader"
du -sh "$corpus"/*
