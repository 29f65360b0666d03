#!/usr/bin/env bash
# Training-throughput benchmark (bench/README.md): FERLab's simple_cnn against the plain
# PyTorch-Python reference on the same machine, one after the other (never concurrently).
# Each trains 2 epochs on the full FER2013 training split; epoch 1 is warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== FERLab (build/ferlab)"
./build/ferlab run bench/ferlab_simple_cnn.toml --db "$work/bench.db" --results "$work" \
  --set data.cache_dir="\"$work/cache\"" 2>&1 | grep -E "^epoch|finished"
./build/ferlab ls --json --db "$work/bench.db" |
  /usr/bin/python3 -c 'import json,sys; print("FERLab images/s after warm-up: %.1f" % json.load(sys.stdin)[0]["images_per_sec"])'

echo "== PyTorch-Python reference, $(nproc) intra-op threads"
/usr/bin/python3 bench/pytorch_reference.py --epochs 2 --threads "$(nproc)"
echo "== PyTorch-Python reference, PyTorch's default threads"
/usr/bin/python3 bench/pytorch_reference.py --epochs 2
