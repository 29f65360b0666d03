#!/usr/bin/env bash
# Trains the reproduction grids of experiments/reproduce/ into their own store and results
# folder, then archives every finished run into results/reproductions/ (compact, lossless
# records that are committed; `ferlab import` reads them back).
# Two passes. The first trains one run of every ledger row (the first seed of a seed grid,
# every backbone of a backbone grid), cheapest first, so every reference gets a number before
# any gets three seeds; the second trains the remaining cells (seeds 2 and 3).
# Grids resume: run it again after an interruption and it continues where it stopped.
#
#   scripts/reproduce.sh [OUT] [EXPERIMENT.toml...]
#       OUT defaults to ../runs/reproduce (store OUT/ferlab.db, checkpoints under OUT/runs/);
#       with experiments named, only those grids are trained, whole, in the order given.
set -euo pipefail
cd "$(dirname "$0")/.."
ferlab="${FERLAB_BIN:-build/ferlab}"
out="${1:-../runs/reproduce}"
shift || true
experiments=("$@")
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

if [ ${#experiments[@]} -gt 0 ]; then
  for experiment in "${experiments[@]}"; do train "$experiment"; done
  exit 0
fi

r=experiments/reproduce
# Pass 1: "FILE CELL", cheapest first. The hours are estimates for one run on the 2-core CPU
# from measured training images/s (README "Reproduction ledger"); early stopping can cut them.
first_runs=(
  "$r/custom_cnn.toml 0"                  # simple_cnn, 50 epochs: 2 h
  "$r/five_layer_cnn.toml 0"              # simple_cnn, 50 epochs: 2 h
  "$r/transfer_frozen.toml 0"             # ResNet50 frozen, 20 epochs: 0.7 h (ran 12 min: early stop)
  "$r/transfer_finetune.toml 0"           # MobileNetV2, 5 + 15 epochs: 1.2 h (ran 45 min)
  "$r/elu_cnn.toml 0"                     # elu_cnn, <= 60 epochs: 2 h
  "$r/transfer_frozen.toml 1"             # VGG16 frozen, 20 epochs: 2 h
  "$r/transfer_finetune.toml 1"           # ResNet50, 5 + 15 epochs: 2.8 h
  "$r/custom_cnn_oversample.toml 0"       # simple_cnn on 50,505 images per epoch: 3.3 h
  "$r/mobilenet_v2.toml 0"                # MobileNetV2, 50 epochs: 3.5 h
  "$r/transfer_finetune.toml 2"           # VGG16, 5 + 15 epochs: 4.3 h
  "$r/transfer_finetune_xception.toml 0"  # Xception at 72 px, 5 + 15 epochs: 7 h
  "$r/vggnet_khaireddin.toml 0"           # VGGNet, 30 epochs, ten-crop TTA: 8 h
)
for entry in "${first_runs[@]}"; do
  read -r experiment cell <<< "$entry"
  train "$experiment" --cell "$cell"
done
# Pass 2: every grid whole; the runs of pass 1 are skipped as finished.
for entry in "${first_runs[@]}"; do
  read -r experiment cell <<< "$entry"
  [ "$cell" = 0 ] && train "$experiment"
done
