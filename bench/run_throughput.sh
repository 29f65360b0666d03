#!/usr/bin/env bash
# Training-throughput benchmark (bench/README.md): FERLab against the plain PyTorch-Python
# reference (bench/pytorch_reference.py, the same torch from .venv), for simple_cnn and vggnet,
# in fp32 and bf16 (autocast), one measurement after the other (never concurrently). Every
# measurement trains EPOCHS epochs (default 2); epoch 1 is warm-up and images/s is the mean
# over the later ones. Prints a Markdown table at the end (bench/throughput_table.py) and
# exits 1 when a pair disagrees on parameters, training images, torch version or precision.
#
# The full run takes an estimated 30-40 minutes on the project's 2-core CPU machine; measure
# on a quiet machine (the table reports the load average around every measurement and warns
# when the machine was busy before the first one).
#
# Environment:
#   BENCH_QUICK=1        smoke test: 300 training images per model (both sides), 1+1 epochs
#   SIMPLE_CNN_SUBSET    data.subset for simple_cnn (default 1.0: all 28,709 training images)
#   VGGNET_SUBSET        data.subset for vggnet (default 0.2: a stratified 5,741 images)
#   EPOCHS               epochs per measurement, the first is warm-up (default 2)
#   MODELS, PRECISIONS   what to measure (default "simple_cnn vggnet" and "fp32 bf16")
#   BENCH_CHANNELS_LAST=1  channels-last on both sides (train.channels_last / --channels-last)
#   BENCH_OUT            also write the final table to this file
#   FERLAB_BIN           FERLab binary (default ./build/ferlab)
#   PYTHON               Python with the wheel's torch and torchvision (default .venv/bin/python)
#   FERLAB_BENCH_CACHE   FERLab dataset cache folder (default: a temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${FERLAB_BIN:-./build/ferlab}
python=${PYTHON:-.venv/bin/python}
threads=$(nproc)
epochs=${EPOCHS:-2}
read -r -a models <<<"${MODELS:-simple_cnn vggnet}"
read -r -a precisions <<<"${PRECISIONS:-fp32 bf16}"
if [[ ${BENCH_QUICK:-0} == 1 ]]; then
  simple_cnn_subset=${SIMPLE_CNN_SUBSET:-300}
  vggnet_subset=${VGGNET_SUBSET:-300}
else
  simple_cnn_subset=${SIMPLE_CNN_SUBSET:-1.0}
  vggnet_subset=${VGGNET_SUBSET:-0.2}
fi
channels_last=false
python_layout=()
if [[ ${BENCH_CHANNELS_LAST:-0} == 1 ]]; then
  channels_last=true
  python_layout=(--channels-last)
fi

for tool in "$bin" "$python"; do
  [[ -x $tool ]] || { echo "run_throughput.sh: $tool not found (build / set up first)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache=${FERLAB_BENCH_CACHE:-$work/cache}

subset_of() {
  case $1 in
    simple_cnn) echo "$simple_cnn_subset" ;;
    vggnet) echo "$vggnet_subset" ;;
    *) echo "run_throughput.sh: unknown model '$1' (simple_cnn, vggnet)" >&2; exit 1 ;;
  esac
}

# FERLab: one run in a store of its own; the table reads `ferlab show --json`. Evaluation is
# thinned (data.eval_subset): the measure is training images/s, and it keeps the wall time down.
measure_ferlab() {  # model precision subset
  local tag=ferlab-$1-$2 status
  echo "== FERLab $1 $2, data.subset=$3, $threads threads ($(date -u +%H:%M:%S) UTC)"
  cat /proc/loadavg >"$work/$tag.load"
  set +e
  "$bin" run "bench/ferlab_$1.toml" --device cpu --db "$work/$tag.db" --results "$work/$tag" \
    --set data.cache_dir="\"$cache\"" --set data.subset="$3" --set train.epochs="$epochs" \
    --set data.eval_subset=0.1 \
    --set train.threads="$threads" --set train.precision="$2" \
    --set train.channels_last="$channels_last" 2>&1 | tee "$work/$tag.log" |
    grep --line-buffered -E "parameters\)|^epoch [0-9]+/[0-9]+ loss|falls back|rror"
  status=${PIPESTATUS[0]}
  set -e
  cat /proc/loadavg >>"$work/$tag.load"
  if [[ $status != 0 ]]; then
    echo "FERLab failed (exit $status); its output:" >&2
    tail -n 30 "$work/$tag.log" >&2
    exit 1
  fi
  local id
  id=$("$bin" ls --json --db "$work/$tag.db" | "$python" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  "$bin" show "$id" --json --db "$work/$tag.db" >"$work/$tag.show.json"
}

measure_python() {  # model precision subset
  local tag=python-$1-$2
  echo "== PyTorch-Python $1 $2, --subset $3, $threads threads ($(date -u +%H:%M:%S) UTC)"
  cat /proc/loadavg >"$work/$tag.load"
  "$python" bench/pytorch_reference.py --model "$1" --precision "$2" --subset "$3" \
    --epochs "$epochs" --threads "$threads" --workers 2 "${python_layout[@]}" \
    --json "$work/$tag.json"
  cat /proc/loadavg >>"$work/$tag.load"
}

started=$(date -u '+%Y-%m-%d %H:%M UTC')
start_load=$(cut -d' ' -f1 /proc/loadavg)
echo "== $started, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $threads CPUs"
"$bin" version
echo "FERLab's libtorch_cpu: $(ldd "$bin" | awk '/libtorch_cpu/ {print $3}')"
"$python" -c 'import torch, torchvision; print(f"Python reference: torch {torch.__version__}, torchvision {torchvision.__version__}")'
for model in "${models[@]}"; do
  "$python" bench/pytorch_reference.py --model "$model" --params-only
done

for model in "${models[@]}"; do
  subset=$(subset_of "$model")
  for precision in "${precisions[@]}"; do
    measure_ferlab "$model" "$precision" "$subset"
    measure_python "$model" "$precision" "$subset"
  done
done

echo
args=(--models "${models[@]}" --precisions "${precisions[@]}"
  --header "## Training throughput, $started to $(date -u '+%H:%M UTC')"
  --header ""
  --header "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $threads CPUs; $("$bin" version | head -2 | paste -sd ' ' -); batch 64, Adam lr 1e-3, hflip, $threads intra-op threads on both sides, 2 DataLoader workers in Python; $epochs epochs per measurement (epoch 1 warm-up); data.subset simple_cnn=$simple_cnn_subset vggnet=$vggnet_subset; channels_last=$channels_last.")
args+=(--start-load "$start_load")
[[ ${BENCH_QUICK:-0} == 1 ]] && args+=(--header ""
  --header "BENCH_QUICK=1: a smoke test of the script on $simple_cnn_subset / $vggnet_subset images; these numbers are not a measurement.")
[[ -n ${BENCH_OUT:-} ]] && args+=(--out "$BENCH_OUT")
"$python" bench/throughput_table.py "$work" "${args[@]}"
