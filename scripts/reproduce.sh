#!/usr/bin/env bash
# Trains the reproduction grids of experiments/reproduce/ into their own store and results
# folder, one grid cell at a time, and archives every run as soon as it finishes into
# results/reproductions/ (compact, lossless records that are committed; `ferlab import` reads
# them back).
# It starts by importing the committed archives into the store, so on a fresh machine, which
# has only the repository, it skips every run that has been archived and goes on with the rest.
# Two passes. The first trains one run of every ledger row (the first seed of a seed grid),
# cheapest first, so every reference gets a number before any gets three seeds; the second
# trains the remaining seeds. An interrupted run resumes from its last checkpoint when the
# script is run again on the same machine.
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
mkdir -p "$out" results/reproductions
# A finished run already in the store is left as it is, so this is safe to repeat.
"$ferlab" import results/reproductions --db "$out/ferlab.db" > /dev/null

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
# Pass 1: "FILE CELL", cheapest first. Each run fits in one 3-hour session of the 2-core CPU
# (the machine keeps only the repository between sessions); the longer recipes are cut to
# that budget and say so in their files. Times are measured where the run has finished,
# otherwise estimated from measured training images/s (README "Reproduction ledger").
first_runs=(
  "$r/custom_cnn.toml 0"                  # simple_cnn, 50 epochs: 2 h (ran 2.4 h)
  "$r/five_layer_cnn.toml 0"              # simple_cnn, 50 epochs: 2 h
  "$r/transfer_frozen.toml 0"             # ResNet50 frozen, 20 epochs (ran 12 min: early stop)
  "$r/transfer_finetune.toml 0"           # MobileNetV2, 5 + 15 epochs (ran 45 min)
  "$r/transfer_frozen.toml 1"             # VGG16 frozen, <= 20 epochs with early stopping
  "$r/elu_cnn.toml 0"                     # elu_cnn, 16 epochs: 2 h 10 min (ran 2 h 5 min)
  "$r/transfer_finetune_resnet50.toml 0"  # the full 5 + 15 epochs (ran 1 h 27 min)
  "$r/custom_cnn_oversample.toml 0"       # simple_cnn on 50,505 images per epoch, 50 epochs (ran 2 h 46 min)
  "$r/mobilenet_v2.toml 0"                # MobileNetV2, 50 epochs (ran 1 h 32 min)
  "$r/transfer_finetune_vgg16.toml 0"     # the full 5 + 15 epochs (ran 2 h 42 min; fine-tuning 1 h 47 min)
  "$r/transfer_finetune_xception.toml 0"  # Xception at 72 px, 5 + 7 epochs (ran 1 h 32 min)
  "$r/vggnet_khaireddin.toml 0"           # VGGNet, 10 epochs, ten-crop TTA (ran 1 h 41 min)
)
for entry in "${first_runs[@]}"; do
  read -r experiment cell <<< "$entry"
  train "$experiment" --cell "$cell"
done
# Pass 2: the other seeds of the seed grids, a cell at a time (2 h to 2 h 45 min each).
for experiment in "$r/custom_cnn.toml" "$r/custom_cnn_oversample.toml" "$r/five_layer_cnn.toml" \
                  "$r/elu_cnn.toml"; do
  for cell in 1 2; do train "$experiment" --cell "$cell"; done
done
