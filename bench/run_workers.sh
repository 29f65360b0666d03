#!/usr/bin/env bash
# Wall time of one grid trained by 1 and by 2 worker processes (`ferlab run --workers N`) on
# this machine, to choose the default (issue: grids past one process). The same 4-cell grid
# (bench/workers_grid.toml: fast_cnn, 2,000 training images, 2 epochs, the full PublicTest and
# PrivateTest) is trained from scratch into a fresh store each time; nothing else may run.
#   bash bench/run_workers.sh            # about 10 minutes on 2 cores
#   WORKERS="1 2 4" bash bench/run_workers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ferlab="${FERLAB_BIN:-build/ferlab}"
out="$(mktemp -d /tmp/ferlab-bench-workers.XXXXXX)"
trap 'rm -rf "$out"' EXIT
# Decode FER2013 into the cache once, outside the timings.
"$ferlab" run bench/workers_grid.toml --set train.epochs=1 --set data.subset=50 \
  --set data.eval_subset=0.01 --db "$out/warm.db" --results "$out/warm" >/dev/null 2>&1
echo "| workers | threads per worker | grid wall time (4 runs) | runs/hour |"
echo "|---|---|---|---|"
for workers in ${WORKERS:-1 2}; do
  start=$(date +%s.%N)
  "$ferlab" run bench/workers_grid.toml --workers "$workers" --db "$out/w$workers.db" \
    --results "$out/w$workers" >"$out/w$workers.log" 2>&1
  end=$(date +%s.%N)
  threads=$(( $(nproc) / workers > 0 ? $(nproc) / workers : 1 ))
  awk -v w="$workers" -v t="$threads" -v a="$start" -v b="$end" \
    'BEGIN { s = b - a; printf "| %d | %d | %.0f s | %.1f |\n", w, t, s, 4 * 3600 / s }'
done
