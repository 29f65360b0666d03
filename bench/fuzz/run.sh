#!/usr/bin/env bash
# Fuzzes FERLab's input parsers (README, "Fuzzing"): builds the libFuzzer harnesses of
# tests/fuzz with clang and ASan+UBSan into build-fuzz/, runs each for a fixed time on the
# committed corpus plus seeds taken at run time (the repository's configs; a few FER2013
# images from the shared data, never committed), merges inputs that add coverage into
# tests/fuzz/corpus/<harness>/ (-merge=1), copies every crash, timeout or out-of-memory
# input into tests/fuzz/crashes/<harness>/, and prints one row per harness.
# Usage: bench/fuzz/run.sh [seconds per harness, default 60] [harness ...]
#   harnesses: ConfigLoader Fer2013Csv ImageDecode SqliteStore WeightFile Checkpoint
# Environment: FERLAB_FUZZ_JOBS (build jobs, default 2), FERLAB_SHARED_DATA (default
# ../shared/data), FERLAB_FUZZ_MERGE=0 to leave the committed corpus as it is.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  harnesses=(ConfigLoader Fer2013Csv ImageDecode SqliteStore WeightFile Checkpoint)
fi
shared=${FERLAB_SHARED_DATA:-../shared/data}
build=build-fuzz
targets=()
for h in "${harnesses[@]}"; do targets+=("${h}Fuzzer"); done

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DFERLAB_FUZZ=ON -DFERLAB_BUILD_TESTS=OFF >/dev/null
nice -n 5 cmake --build "$build" -j"${FERLAB_FUZZ_JOBS:-2}" --target "${targets[@]}"

# Seeds that are not committed: the configs as they are (includes then fail: error paths),
# and real FER2013 JPEGs when the shared data is there.
runtimeSeeds() {
  local harness=$1 dir=$2
  case $harness in
    ConfigLoader) find configs experiments -name '*.toml' -exec cp {} "$dir/" \; ;;
    ImageDecode)
      if [ -d "$shared/fer2013/train" ]; then
        find "$shared/fer2013/train" -name '*.jpg' | sort | awk 'NR % 4000 == 1' |
          while read -r f; do cp "$f" "$dir/fer2013-$(basename "$f")"; done
      fi ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
rows=()
for h in "${harnesses[@]}"; do
  work=$build/work/$h
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts" tests/fuzz/corpus/$h tests/fuzz/crashes/$h
  cp tests/fuzz/corpus/$h/* "$work/corpus/" 2>/dev/null || true
  runtimeSeeds "$h" "$work/corpus"
  echo "== $h: ${seconds}s, $(ls "$work/corpus" | wc -l) seeds" >&2
  nice -n 5 "$build/fuzz/${h}Fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -max_len=262144 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
    >"$work/fuzz.log" 2>&1 || true
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/fuzz.log" | awk '{print $2}')
  rate=$(grep -o 'stat::average_exec_per_sec: [0-9]*' "$work/fuzz.log" | awk '{print $2}')
  crashes=0
  for f in "$work"/artifacts/*; do
    [ -f "$f" ] || continue
    cp "$f" tests/fuzz/crashes/$h/
    crashes=$((crashes + 1))
  done
  if [ "${FERLAB_FUZZ_MERGE:-1}" = 1 ]; then
    nice -n 5 "$build/fuzz/${h}Fuzzer" -merge=1 -timeout=10 -rss_limit_mb=4096 \
      tests/fuzz/corpus/$h "$work/corpus" >"$work/merge.log" 2>&1 || true
  fi
  files=$(find tests/fuzz/corpus/$h -type f | wc -l)
  bytes=$(find tests/fuzz/corpus/$h -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  rows+=("$(printf '%-13s %10s %8s %7s %9s %7s' "$h" "${execs:-?}" "${rate:-?}" "$files" \
    "$bytes" "$crashes")")
  [ "$crashes" -eq 0 ] || echo "   $h: crash input(s) in tests/fuzz/crashes/$h, log $work/fuzz.log" >&2
done
printf '%-13s %10s %8s %7s %9s %7s\n' harness execs exec/s files bytes crashes
printf '%s\n' "${rows[@]}"
