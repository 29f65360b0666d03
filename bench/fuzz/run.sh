#!/usr/bin/env bash
# Fuzzes FERLab's input parsers (README, "Fuzzing"): builds the libFuzzer harnesses of
# tests/fuzz with clang and ASan+UBSan into build-fuzz/, runs each for a fixed time on the
# committed corpus plus seeds taken at run time (the repository's configs as they are),
# merges inputs that add coverage into tests/fuzz/corpus/<harness>/ (-merge=1), copies every
# crash, leak, timeout or out-of-memory input into tests/fuzz/crashes/<harness>/, and prints
# one row per harness: executions, executions per second, corpus files and bytes, crashes.
# The committed corpus is re-minimised on every run and kept within a byte budget per harness.
# Usage: bench/fuzz/run.sh [seconds per harness, default 60] [harness ...]
#   harnesses: ConfigLoader Fer2013Csv ImageDecode SqliteStore WeightFile Checkpoint
# Environment: FERLAB_FUZZ_JOBS (build jobs, default 2); FERLAB_FUZZ_MERGE=0 leaves the
# committed corpus as it is; FERLAB_FUZZ_SHARED_SEEDS=1 also seeds ImageDecode with a few real
# FER2013 images from FERLAB_SHARED_DATA (default ../shared/data), and then does not merge
# that harness: the dataset never enters the repository, not even mutated.
# The two LibTorch harnesses run without leak detection: LibTorch's zip reader leaks about
# 1 KB when it rejects a file (README, "Fuzzing"), which would stop them at the first bad zip.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  harnesses=(ConfigLoader Fer2013Csv ImageDecode SqliteStore WeightFile Checkpoint)
fi
shared=${FERLAB_SHARED_DATA:-../shared/data}
# Bytes of committed corpus per harness (FERLAB_FUZZ_CORPUS_BYTES), so the six stay well
# under 2 MB together.
budget=${FERLAB_FUZZ_CORPUS_BYTES:-250000}
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
      if [ "${FERLAB_FUZZ_SHARED_SEEDS:-0}" = 1 ] && [ -d "$shared/fer2013/train" ]; then
        find "$shared/fer2013/train" -name '*.jpg' | sort | awk 'NR % 4000 == 1' |
          while read -r f; do cp "$f" "$dir/fer2013-$(basename "$f")"; done
      fi ;;
  esac
}

bytesIn() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
rows=()
for h in "${harnesses[@]}"; do
  work=$build/work/$h
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts" tests/fuzz/corpus/$h tests/fuzz/crashes/$h
  cp tests/fuzz/corpus/$h/* "$work/corpus/" 2>/dev/null || true
  runtimeSeeds "$h" "$work/corpus"
  echo "== $h: ${seconds}s, $(ls "$work/corpus" | wc -l) seeds" >&2
  leaks=1
  case $h in WeightFile | Checkpoint) leaks=0 ;; esac
  ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=$leaks" \
    nice -n 5 "$build/fuzz/${h}Fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -max_len=65536 -detect_leaks=$leaks -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" >"$work/fuzz.log" 2>&1 || true
  execs=$(grep -a 'stat::number_of_executed_units:' "$work/fuzz.log" | awk '{print $2}')
  rate=$(grep -a 'stat::average_exec_per_sec:' "$work/fuzz.log" | awk '{print $2}')
  crashes=0
  for f in "$work"/artifacts/*; do
    [ -f "$f" ] || continue
    cp "$f" tests/fuzz/crashes/$h/
    crashes=$((crashes + 1))
  done
  merge=${FERLAB_FUZZ_MERGE:-1}
  if [ "$h" = ImageDecode ] && [ "${FERLAB_FUZZ_SHARED_SEEDS:-0}" = 1 ]; then merge=0; fi
  if [ "$merge" = 1 ]; then
    # A minimal corpus over the committed one and this run's: the named seeds of
    # tests/fuzz/make_seeds.sh stay, then every input that adds coverage (40-hex names).
    minimized=$work/minimized
    mkdir -p "$minimized"
    find tests/fuzz/corpus/$h -type f -regextype posix-extended ! -regex '.*/[0-9a-f]{40}' -exec cp {} "$minimized/" \;
    if ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=$leaks" \
      nice -n 5 "$build/fuzz/${h}Fuzzer" -merge=1 -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
      "$minimized" tests/fuzz/corpus/$h "$work/corpus" >"$work/merge.log" 2>&1; then
      # Within the byte budget: the largest fuzzer finds go first.
      while [ "$(bytesIn "$minimized")" -gt "$budget" ]; do
        largest=$(find "$minimized" -type f -regextype posix-extended -regex '.*/[0-9a-f]{40}' -printf '%s %p\n' |
          sort -n | tail -1 | cut -d' ' -f2-)
        [ -n "$largest" ] || break
        rm "$largest"
      done
      rm -f tests/fuzz/corpus/$h/*
      cp "$minimized"/* tests/fuzz/corpus/$h/
    else
      echo "   $h: merge failed (see $work/merge.log); corpus left as it was" >&2
    fi
  fi
  files=$(find tests/fuzz/corpus/$h -type f | wc -l)
  bytes=$(bytesIn tests/fuzz/corpus/$h)
  rows+=("$(printf '%-13s %10s %8s %7s %9s %7s' "$h" "${execs:-?}" "${rate:-?}" "$files" \
    "$bytes" "$crashes")")
  [ "$crashes" -eq 0 ] || echo "   $h: crash input(s) in tests/fuzz/crashes/$h, log $work/fuzz.log" >&2
done
printf '%-13s %10s %8s %7s %9s %7s\n' harness execs exec/s files bytes crashes
printf '%s\n' "${rows[@]}"
