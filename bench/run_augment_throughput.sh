#!/usr/bin/env bash
# Augmentation-throughput benchmark (bench/README.md): simple_cnn on a quarter of FER2013,
# 2 threads, first without any augmentation, then with the full set of bench/ferlab_augment.toml
# (flip, crop, affine, jitter, erasing, noise, mixup and CutMix), one after the other. Each
# trains 2 epochs; epoch 1 is warm-up. FERLAB_BIN selects the binary (default build/ferlab),
# SUBSET the fraction of FER2013 (default 0.25) and REPEATS how many times the pair runs,
# alternating, so a change in machine load hits both alike (default 1). PYTHON is the
# interpreter for reading `ferlab ls --json` (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${FERLAB_BIN:-./build/ferlab}
python=${PYTHON:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache=${FERLAB_BENCH_CACHE:-$work/cache}
subset=${SUBSET:-0.25}
repeats=${REPEATS:-1}
off=(--set augment.hflip=0 --set augment.crop_padding=0 --set augment.affine=0
  --set augment.jitter=0 --set augment.erase=0 --set augment.noise_std=0
  --set augment.mixup=0 --set augment.cutmix=0)

measure() {  # label, extra args...
  local label=$1
  shift
  "$bin" run bench/ferlab_augment.toml --db "$work/$label.db" --results "$work/$label" \
    --set data.cache_dir="\"$cache\"" --set data.subset="$subset" --set data.eval_subset=0.1 \
    "$@" 2>&1 |
    grep -E "^epoch [0-9]+/[0-9]+ loss" || true
  "$bin" ls --json --db "$work/$label.db" | "$python" -c \
    "import json,sys; print('$label: %.1f images/s after warm-up' % json.load(sys.stdin)[0]['images_per_sec'])"
}

for repeat in $(seq "$repeats"); do
  echo "== without augmentation (repeat $repeat)"
  measure "none$repeat" "${off[@]}"
  echo "== full augmentation set (repeat $repeat)"
  measure "full$repeat"
done
