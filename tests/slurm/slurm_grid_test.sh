#!/usr/bin/env bash
# `ferlab submit --slurm` on a real one-node Slurm cluster (tests/slurm/cluster.sh, label
# `slurm`), no mock:
#  1. a 4-cell grid on a small subset of FER2013 runs as a job array (one task per cell, shard
#     stores), then the dependent merge job combines the shards. Pass: 4 finished runs, each
#     trained exactly once (one "finished" line per run in the task logs, no takeover), every
#     epoch recorded once, and metrics and per-sample predictions identical to the same cells
#     run locally on the CPU with the same thread count (1).
#  2. requeue: a 1-cell grid whose running task gets USR2 (what Slurm sends --signal seconds
#     before the time limit; sent here with `scancel --batch --signal=USR2`). Pass: the task
#     stops ferlab with SIGTERM, requeues itself, the restarted task resumes from its
#     checkpoint ("resuming ... after epoch N"), and the merged run equals the local reference.
#   slurm_grid_test.sh FERLAB_BINARY FER2013_DIR [WORK_DIR]
# Exit 0 on success; otherwise 1 with a "FAIL: ..." line, keeping the work directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ferlab="$(realpath "$1")" fer2013="$(realpath "$2")" work="${3:-}" own_work=0
if [[ -z "$work" ]]; then
  own_work=1
  work="$(mktemp -d /tmp/ferlab-slurm-grid.XXXXXX)"
  chmod 755 "$work"  # munged needs every folder above its socket searchable by all
fi
cluster="$work/cluster"
cache="$(dirname "$ferlab")/test-cache"  # the decoded-dataset cache the other tests share
t0=$SECONDS
passed=0
finish() {
  local status=$?
  bash "$here/cluster.sh" stop "$cluster" || status=1
  if ((passed && status == 0)); then
    ((own_work)) && rm -rf "$work"
  else
    echo "slurm_grid_test: work kept in $work" >&2
  fi
  exit "$status"
}
trap finish EXIT
fail() {
  echo "FAIL: $* ($((SECONDS - t0)) s)" >&2
  squeue -a -o '%i %T %r' 2>/dev/null | sed 's/^/  squeue: /' >&2 || true
  for log in "$work"/*/results/slurm/*/logs/*.out; do
    [[ -f "$log" ]] && { echo "--- $log" >&2; tail -20 "$log" >&2; }
  done
  exit 1
}

grid_config() {  # NAME EPOCHS SEEDS SUBSET
  cat <<TOML
name = "$1"
[data]
path = "$fer2013"
cache_dir = "$cache"
subset = $4
eval_subset = 0.05
[augment]
hflip = 0.5
[train]
epochs = $2
lr = 0.002
[grid]
"train.seed" = [$3]
TOML
}

# Waits until the cluster has no job left (the array and its merge job).
wait_for_jobs() {
  local deadline=$((SECONDS + $1))
  while [[ -n "$(squeue -h -o %i)" ]]; do
    ((SECONDS < deadline)) || fail "jobs still queued or running after $1 s"
    sleep 1
  done
}

# What must be identical between the Slurm run and the local one: per run, its final metrics,
# epoch history and PrivateTest/PublicTest predictions with their probability bytes.
fingerprint() {
  sqlite3 "$1" "SELECT id, status, best_epoch, test_accuracy, test_macro_f1 FROM runs ORDER BY id;
                SELECT run_id, epoch, train_loss, val_accuracy FROM epochs ORDER BY run_id, epoch;
                SELECT run_id, split, sample_index, predicted, hex(probabilities) FROM predictions
                ORDER BY run_id, split, sample_index;"
}

bash "$here/cluster.sh" start "$cluster" || fail "the cluster did not start (line above)"
# shellcheck disable=SC1091
source "$cluster/env"
echo "slurm_grid_test: cluster up after $((SECONDS - t0)) s"

# 1. A 4-cell grid as a job array, then merged.
mkdir -p "$work/grid"
cd "$work/grid"
grid_config slurm_grid 2 "1, 2, 3, 4" 200 >grid.toml
submitted=$("$ferlab" submit grid.toml --slurm --cpus-per-task 1 --array-parallelism 2 \
  --time 10 --results "$work/grid/results" --db "$work/grid/merged.db") ||
  fail "ferlab submit failed: $submitted"
echo "slurm_grid_test: $submitted"
wait_for_jobs 600
logs="$work/grid/results/slurm/slurm_grid/logs"
grep -q "slurm_grid: 4 of 4 cell(s) finished" "$logs"/merge-*.out ||
  fail "the merge job did not report 4 of 4 cells finished: $(cat "$logs"/merge-*.out)"
[[ "$(sqlite3 merged.db "SELECT count(*) FROM runs WHERE status = 'finished'")" == 4 ]] ||
  fail "merged.db does not hold 4 finished runs"
[[ "$(sqlite3 merged.db "SELECT count(*) FROM epochs")" == 8 ]] ||
  fail "merged.db holds $(sqlite3 merged.db "SELECT count(*) FROM epochs") epoch rows, not 4 x 2"
for id in $(sqlite3 merged.db "SELECT id FROM runs"); do
  trained=$(cat "$logs"/*_*.out | grep -c "run $id finished") || true
  [[ "$trained" == 1 ]] || fail "run $id was trained $trained times"
done
! grep -q "taking over" "$logs"/*_*.out || fail "a task took a run over"
"$ferlab" run grid.toml --threads 1 --db local.db --results local >local.log 2>&1 ||
  fail "the local reference run failed: $(tail -5 local.log)"
[[ "$(fingerprint merged.db)" == "$(fingerprint local.db)" ]] ||
  fail "the Slurm runs differ from the local ones: $(diff <(fingerprint merged.db) <(fingerprint local.db) | head -5)"
# Merging again adds nothing.
again=$("$ferlab" merge results/slurm/slurm_grid/shards --into merged.db --config grid.toml) ||
  fail "a second merge failed: $again"
grep -q "0 run(s) added, 0 replaced, 4 unchanged" <<<"$again" || fail "a second merge changed the store: $again"
echo "slurm_grid_test: 4-cell grid ok after $((SECONDS - t0)) s"

# 2. Requeue: USR2 to the running task, which checkpoints, requeues and resumes.
mkdir -p "$work/requeue"
cd "$work/requeue"
grid_config slurm_requeue 6 "7" 600 >grid.toml
submitted=$("$ferlab" submit grid.toml --slurm --cpus-per-task 1 --time 10 \
  --results "$work/requeue/results" --db "$work/requeue/merged.db") ||
  fail "ferlab submit failed: $submitted"
array=$(sed -n 's/.*array job \([0-9]*\).*/\1/p' <<<"$submitted")
shard="$work/requeue/results/slurm/slurm_requeue/shards/cell-0.db"
deadline=$((SECONDS + 300))
until [[ -f "$shard" ]] && (($(sqlite3 "$shard" "SELECT count(*) FROM epochs" 2>/dev/null || echo 0) >= 2)); do
  ((SECONDS < deadline)) || fail "the task recorded no 2 epochs within 300 s"
  sleep 0.5
done
scancel --batch --signal=USR2 "${array}_0" || fail "scancel --signal=USR2 failed"
wait_for_jobs 600
logs="$work/requeue/results/slurm/slurm_requeue/logs"
grep -q "USR2 (time limit near): checkpointing and requeueing" "$logs/${array}_0.out" ||
  fail "the task did not trap USR2"
grep -q "(restart 1)" "$logs/${array}_0.out" || fail "the task was not requeued"
grep -qE "resuming [0-9a-f]+ after epoch [1-9]" "$logs/${array}_0.out" ||
  fail "the requeued task did not resume from its checkpoint"
[[ "$(sqlite3 merged.db "SELECT count(*) FROM epochs")" == 6 ]] || fail "the merged run has not 6 epochs"
"$ferlab" run grid.toml --threads 1 --db local.db --results local >local.log 2>&1 ||
  fail "the local reference run failed: $(tail -5 local.log)"
[[ "$(fingerprint merged.db)" == "$(fingerprint local.db)" ]] ||
  fail "the requeued run differs from the local one: $(diff <(fingerprint merged.db) <(fingerprint local.db) | head -5)"
echo "slurm_grid_test: requeue ok after $((SECONDS - t0)) s"
passed=1
