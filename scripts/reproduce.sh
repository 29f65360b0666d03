#!/usr/bin/env bash
# Trains the reproduction grids of experiments/reproduce/ into their own store and results
# folder, then archives every finished run into results/reproductions/ (compact, lossless
# records that are committed; `ferlab import` reads them back).
# Breadth first: the first cell of every experiment (its first seed or backbone), then the
# remaining cells, so every reference of the ledger gets a number before any gets three seeds.
# Grids resume: run it again after an interruption and it continues where it stopped.
#
#   scripts/reproduce.sh [OUT] [EXPERIMENT.toml...]
#       OUT defaults to ../runs/reproduce (store OUT/ferlab.db, checkpoints under OUT/runs/);
#       the experiments default to every file of experiments/reproduce/, cheapest first.
set -euo pipefail
cd "$(dirname "$0")/.."
ferlab="${FERLAB_BIN:-build/ferlab}"
out="${1:-../runs/reproduce}"
shift || true
experiments=("$@")
if [ ${#experiments[@]} -eq 0 ]; then
  # Cheapest first, so the ledger fills in as early as possible.
  experiments=(
    experiments/reproduce/custom_cnn.toml
    experiments/reproduce/five_layer_cnn.toml
    experiments/reproduce/elu_cnn.toml
    experiments/reproduce/custom_cnn_oversample.toml
    experiments/reproduce/vggnet_khaireddin.toml
    experiments/reproduce/mobilenet_v2.toml
    experiments/reproduce/transfer_frozen.toml
    experiments/reproduce/transfer_finetune.toml
  )
fi
mkdir -p "$out"

# train EXPERIMENT [--cell I]: one grid (or one cell of it), then archive what finished.
train() {
  local experiment="$1"
  shift
  # A failed run is recorded as failed; go on with the next grid rather than stop the queue.
  "$ferlab" run "$experiment" --db "$out/ferlab.db" --results "$out" "$@" || \
    echo "reproduce.sh: $experiment $* ended with failures (see $out/ferlab.db)" >&2
  "$ferlab" archive --db "$out/ferlab.db" -o results/reproductions \
    -e "$(sed -n 's/^name = "\(.*\)"/\1/p' "$experiment" | head -1)"
}

for experiment in "${experiments[@]}"; do train "$experiment" --cell 0; done
for experiment in "${experiments[@]}"; do train "$experiment"; done
