#!/usr/bin/env bash
# Smoke test of the Slurm behaviour FERLab's job arrays rely on, on a real one-node cluster
# (tests/slurm/cluster.sh, label `slurm`): a 2-task array submitted with --requeue and
# --signal=B:USR2@120, whose batch shells trap the USR2 warning and requeue themselves
# (`scontrol requeue`), then resume on the second run (SLURM_RESTART_COUNT=1); and a job with
# --dependency=afterany on the array, which must start only after both tasks have finished.
# The test sends the USR2 itself (`scancel --batch --signal=USR2`) rather than waiting the
# two minutes before a time limit. It needs no build: `requeue_smoke_test.sh [WORK_DIR]`
# (default: a new /tmp directory, removed after a pass). Exit 0 on success; otherwise 1 with a
# "FAIL: ..." line, and the work directory (the cluster's logs, the jobs' output) is kept.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${1:-}" own_work=0
if [[ -z "$work" ]]; then
  own_work=1
  work="$(mktemp -d /tmp/ferlab-slurm.XXXXXX)"
  # munged needs every directory above its socket searchable by all; mktemp makes 0700.
  chmod 755 "$work"
fi
cluster="$work/cluster" jobs="$work/jobs"
rm -rf "$jobs"
mkdir -p "$jobs"
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }
passed=0
finish() {
  local status=$?
  bash "$here/cluster.sh" stop "$cluster" || status=1
  if ((passed && status == 0)); then
    if ((own_work)); then rm -rf "$work"; fi
  else
    echo "requeue_smoke_test: work kept in $work (cluster logs in $cluster/log)" >&2
  fi
  exit "$status"
}
trap finish EXIT
fail() {
  echo "FAIL: $* ($(elapsed))" >&2
  squeue -a -o '%i %T %r' 2>/dev/null | sed 's/^/  squeue: /' >&2 || true
  exit 1
}

bash "$here/cluster.sh" start "$cluster" || fail "the cluster did not start (line above)"
# shellcheck disable=SC1091
source "$cluster/env"
echo "requeue_smoke_test: cluster up after $(elapsed)"

# First run: mark itself ready, wait for USR2, requeue itself and wait to be killed by the
# requeue. Second run: write the resumed marker and finish. `sleep & wait` keeps the shell
# responsive: bash runs a trap only between commands, never during a foreground sleep.
cat >"$jobs/task.sh" <<'EOF'
#!/usr/bin/env bash
jobs="$1" task="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}" run="${SLURM_RESTART_COUNT:-0}"
got_usr2=0
trap 'got_usr2=1; echo "usr2 run=$run"' USR2
echo "start run=$run task=$task at=$(date +%s.%N)"
if [[ "$run" == 0 ]]; then
  touch "$jobs/ready_${SLURM_ARRAY_TASK_ID}"
  for ((i = 0; i < 600 && !got_usr2; i++)); do sleep 0.1 & wait $!; done
  ((got_usr2)) || { echo "no USR2 within 60 s"; exit 3; }
  echo "requeue run=$run"
  scontrol requeue "$task" || { echo "scontrol requeue failed"; exit 4; }
  # The requeue ends this run (SIGTERM, then SIGKILL after KillWait).
  sleep 60 & wait $!
  echo "still running 60 s after the requeue"
  exit 5
fi
echo "resumed run=$run end=$(date +%s.%N)"
EOF

array=$(sbatch --parsable --job-name=ferlab-requeue --array=0-1%2 --requeue \
  --signal=B:USR2@120 --time=10 --ntasks=1 --cpus-per-task=1 --open-mode=append \
  --output="$jobs/%A_%a.out" "$jobs/task.sh" "$jobs") || fail "sbatch of the array failed"
# shellcheck disable=SC2016 # $(date) is for the job's shell to expand
dep=$(sbatch --parsable --job-name=ferlab-after --dependency="afterany:$array" --time=5 \
  --ntasks=1 --output="$jobs/after.out" \
  --wrap 'echo "after start=$(date +%s.%N)"') || fail "sbatch of the dependent job failed"
echo "requeue_smoke_test: submitted array $array and dependent job $dep"

deadline=$((SECONDS + 90))
for task in 0 1; do
  until [[ -e "$jobs/ready_$task" ]]; do
    ((SECONDS < deadline)) || fail "task ${array}_$task never started its first run"
    sleep 0.2
  done
done
echo "requeue_smoke_test: both tasks running after $(elapsed); sending USR2"
for task in 0 1; do
  scancel --batch --signal=USR2 "${array}_$task" || fail "scancel --batch --signal=USR2 ${array}_$task failed"
done

# Done once the dependent job has written its line and left the queue (squeue lists no
# finished jobs; there is no sacct without accounting).
until grep -q '^after start=' "$jobs/after.out" 2>/dev/null &&
  [[ -z "$(squeue -h -j "$array,$dep" -o %i 2>/dev/null)" ]]; do
  ((SECONDS < deadline)) || fail "array $array and job $dep not finished within 90 s"
  sleep 0.5
done
echo "requeue_smoke_test: all jobs finished after $(elapsed)"

last_end=0
for task in 0 1; do
  out="$jobs/${array}_$task.out"
  [[ -s "$out" ]] || fail "no output from task ${array}_$task ($out)"
  got="$(grep -E '^(start|usr2|requeue|resumed) ' "$out" | cut -d' ' -f1-2 | tr '\n' ',')"
  [[ "$got" == "start run=0,usr2 run=0,requeue run=0,start run=1,resumed run=1," ]] ||
    fail "task ${array}_$task ran '$got', not one USR2, one requeue and one resumed run: $(tr '\n' '|' <"$out")"
  end="$(sed -n 's/^resumed run=1 end=//p' "$out")"
  last_end="$(awk -v a="$last_end" -v b="$end" 'BEGIN { print (b > a ? b : a) }')"
done
[[ -s "$jobs/after.out" ]] || fail "dependent job $dep left no output"
after="$(sed -n 's/^after start=//p' "$jobs/after.out")"
awk -v a="$after" -v b="$last_end" 'BEGIN { exit !(a > b) }' ||
  fail "dependent job $dep started at $after, before the array's last task ended at $last_end"
passed=1
echo "requeue_smoke_test: PASS in $(elapsed) (both tasks requeued once on USR2 and resumed; $dep ran after $array)"
