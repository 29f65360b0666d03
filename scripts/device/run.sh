#!/usr/bin/env bash
# FERLab on the lent GPU machine (scripts/device/README.md). Runs THERE, from the repository
# root, with .device-deps/ carried (made here by scripts/device/pack.sh):
#
#   run: command "bash scripts/device/run.sh", carry [".device-deps"], timeout_s 600
#
# Steps: preflight (tools, torch + CUDA), unpack (Debian deps to /tmp/ferlab-deps, FER2013 to
# /tmp/ferlab-data, restored bit-exact and fingerprinted), configure (the pack's prefix, the
# machine's torch), build (ferlab and the tests), ctest -L gpu, bench (training throughput on
# CUDA), accuracy (a short full-data run). Logs and summary.md go to $OUT (8 files at most).
# Everything must end inside the tool's 600 s per command: FERLAB_DEVICE_BUDGET_S (default
# 570) is the deadline every step's timeout is cut to. Writes only under /tmp and build-device/
# (ignored; a warm machine keeps it, so a second call rebuilds incrementally).
#
# Knobs (for the check on a CPU machine, README): FERLAB_DEVICE_STEPS (default all, in order),
# FERLAB_DEVICE_JOBS (16), FERLAB_DEVICE_REQUIRE_GPU (1), FERLAB_PYTHON (python3 on PATH),
# FERLAB_DEVICE_TARGETS (ninja targets; default all, i.e. ferlab, the tests and their fixtures),
# FERLAB_DEVICE_DEPS / _DATA / _WORK (/tmp/ferlab-{deps,data,work}), FERLAB_DEVICE_BUILD;
# and to try the bench and accuracy steps' logic on a CPU: FERLAB_DEVICE_TRAIN_DEVICE (cuda),
# FERLAB_DEVICE_SUBSET (data.subset, 1.0), FERLAB_DEVICE_MAX_EPOCHS (30).
{ # the whole script is read before any of it runs: editing it meanwhile cannot break a run
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
arch=x86_64-linux-gnu
pack=$repo/.device-deps
out=${OUT:-/tmp/ferlab-device-out}
deps=${FERLAB_DEVICE_DEPS:-/tmp/ferlab-deps}
data=${FERLAB_DEVICE_DATA:-/tmp/ferlab-data}
work=${FERLAB_DEVICE_WORK:-/tmp/ferlab-work}
build=${FERLAB_DEVICE_BUILD:-$repo/build-device}
jobs=${FERLAB_DEVICE_JOBS:-16}
budget=${FERLAB_DEVICE_BUDGET_S:-570}
steps=${FERLAB_DEVICE_STEPS:-preflight unpack configure build ctest bench accuracy}
require_gpu=${FERLAB_DEVICE_REQUIRE_GPU:-1}
read -r -a targets <<<"${FERLAB_DEVICE_TARGETS:-}"
train_device=${FERLAB_DEVICE_TRAIN_DEVICE:-cuda}
subset=${FERLAB_DEVICE_SUBSET:-1.0}
max_epochs=${FERLAB_DEVICE_MAX_EPOCHS:-30}
python=${FERLAB_PYTHON:-$(command -v python3 || true)}
lib=$deps/usr/lib/$arch

mkdir -p "$out" "$work"
summary=$out/summary.md
exec > >(tee -a "$out/run.log") 2>&1
t0=$(date +%s)
deadline=$((t0 + budget))
current=start
step_t0=$t0
status=0
results=()  # result lines for summary.md's "Results" section

stamp() { printf '[%s +%3ds]' "$(date -u +%H:%M:%S)" $(($(date +%s) - t0)); }
say() { echo "$(stamp) $*"; }
note() { echo "$*" >>"$summary"; }
left() { echo $((deadline - $(date +%s))); }
# Timeout for a step: its cap, cut to what is left before the deadline minus a reserve.
cap() {
  local l=$(($(left) - ${2:-20}))
  if ((l < 1)); then l=1; fi
  if ((l < $1)); then echo "$l"; else echo "$1"; fi
}
begin() {
  current=$1
  step_t0=$(date +%s)
  say "== $1 (deadline in $(left) s)"
}
done_step() { note "| $current | ${1:-ok} | $(($(date +%s) - step_t0)) |"; }
finish() {
  note ""
  note "## Results"
  note ""
  if ((${#results[@]})); then printf -- '- %s\n' "${results[@]}" >>"$summary"; else note "(none)"; fi
  note ""
  note "finished in $(($(date +%s) - t0)) s, status $1"
}
die() {
  say "FAILED in $current: $*"
  note "| $current | FAILED | $(($(date +%s) - step_t0)) |"
  note ""
  note "**Stopped in step \`$current\`:** $*"
  finish 1
  cat "$summary"
  exit 1
}
failed=""
trap 'failed="line $LINENO: $BASH_COMMAND"' ERR
trap 'rc=$?; ((rc == 0)) || grep -q "Stopped in step" "$summary" || die "exit $rc at $failed (run.log)"' EXIT
want() { [[ " $steps " == *" $1 "* ]]; }
with_pack() { LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$@"; }
tail_log() { echo "---- last $2 lines of $1"; tail -n "$2" "$1"; echo "----"; }

{
  echo "# FERLab device run, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "steps: $steps; budget $budget s; jobs $jobs; logs: run.log (all), build.log, ctest.log, bench.log, accuracy.log; env.txt; runs.jsonl"
  echo
  echo "| step | result | seconds |"
  echo "|---|---|---:|"
} >"$summary"

# --- preflight ----------------------------------------------------------------------------
if want preflight; then
  begin preflight
  for f in deps.tar.xz fer2013.tar.xz pack-info.txt; do
    [[ -f $pack/$f ]] || die "$pack/$f missing: run scripts/device/pack.sh here and carry [\".device-deps\"]"
  done
  for tool in cmake ninja tar sha256sum xargs timeout; do
    command -v "$tool" >/dev/null || die "no $tool on PATH"
  done
  command -v c++ >/dev/null || command -v g++ >/dev/null || die "no C++ compiler (c++, g++)"
  [[ -x $python ]] || die "no python3 (set FERLAB_PYTHON)"
  if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
    export PATH=/usr/local/cuda/bin:$PATH
  fi
  {
    echo "## machine"; uname -a; grep PRETTY_NAME /etc/os-release || true
    echo "cores: $(nproc)"; free -g 2>&1 | head -2 || true
    echo "## tools"; (c++ --version || g++ --version) 2>&1 | head -1 || true
    cmake --version | head -1 || true; echo "ninja $(ninja --version)"
    nvcc --version 2>&1 | tail -2 || echo "nvcc: none"
    echo "## GPU"; nvidia-smi 2>&1 | head -15 || echo "nvidia-smi: none"
    echo "## python: $python"
    "$python" -c 'import torch, sys
print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(),
      "C++11 ABI", torch.compiled_with_cxx11_abi())
print("cuda available:", torch.cuda.is_available(), torch.cuda.device_count(), "device(s)")
if torch.cuda.is_available(): print("device 0:", torch.cuda.get_device_name(0))' 2>&1
    echo "## pack"; cat "$pack/pack-info.txt"
  } >"$out/env.txt" 2>&1
  "$python" -c 'import torch' 2>/dev/null || die "$python cannot import torch"
  gpu=$("$python" -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")')
  if [[ -z $gpu ]]; then
    if ((require_gpu)); then die "torch sees no CUDA device (env.txt); FERLAB_DEVICE_REQUIRE_GPU=0 to go on"; fi
    gpu="none"
  fi
  say "GPU: $gpu; $(grep '^torch' "$out/env.txt")"
  done_step "ok: $gpu, $(nproc) cores"
fi

# --- unpack -------------------------------------------------------------------------------
unpack_xz() {  # archive, destination: xz if the machine has it, else Python's tarfile
  mkdir -p "$2"
  if command -v xz >/dev/null; then
    xz -dc "$1" | tar -C "$2" -xf -
  else
    "$python" -c 'import sys, tarfile
with tarfile.open(sys.argv[1], "r:xz") as t:
    try:
        t.extractall(sys.argv[2], filter="tar")
    except TypeError:  # Python without extraction filters
        t.extractall(sys.argv[2])' "$1" "$2"
  fi
}
if want unpack; then
  begin unpack
  sum=$(sha256sum "$pack/deps.tar.xz" | cut -d' ' -f1)
  if [[ -f $deps/.stamp && $(cat "$deps/.stamp") == "$sum" ]]; then
    say "deps already in $deps"
  else
    rm -rf "$deps"
    unpack_xz "$pack/deps.tar.xz" "$deps" || die "unpacking deps.tar.xz failed"
    echo "$sum" >"$deps/.stamp"
    say "deps: $(du -sh "$deps" | cut -f1) in $deps"
  fi
  want_fp=$(sed -n 's/^fer2013_fingerprint=//p' "$pack/pack-info.txt")
  sum=$(sha256sum "$pack/fer2013.tar.xz" | cut -d' ' -f1)
  if [[ -f $data/.stamp && $(cat "$data/.stamp") == "$sum" ]]; then
    say "FER2013 already in $data"
  else
    rm -rf "$data" "$data.arith"
    unpack_xz "$pack/fer2013.tar.xz" "$data.arith" || die "unpacking fer2013.tar.xz failed"
    # Arithmetic-coded JPEGs back to the original Huffman-coded bytes (pack.sh).
    (cd "$data.arith/ferlab-data" && find . -type d) | (mkdir -p "$data" && cd "$data" && xargs mkdir -p)
    cp -a "$data.arith/ferlab-data/photos/." "$data/photos/"
    export J=$deps/usr/bin/jpegtran SRC=$data.arith/ferlab-data DST=$data
    (cd "$SRC" && find fer2013 -type f -name '*.jpg' -print0) |
      LD_LIBRARY_PATH=$lib timeout "$(cap 300)" xargs -0 -n 1000 -P "$jobs" bash -c '
        for f; do "$J" -copy all -outfile "$DST/$f" "$SRC/$f" || exit 255; done' bash ||
      die "restoring the JPEGs with jpegtran failed (or timed out)"
    rm -rf "$data.arith"
    got_fp=$(cd "$data" && find fer2013 -type f -name '*.jpg' | LC_ALL=C sort |
      xargs -d '\n' sha256sum | sha256sum | cut -d' ' -f1)
    [[ $got_fp == "$want_fp" ]] || die "FER2013 fingerprint $got_fp, expected $want_fp (pack-info.txt)"
    echo "$sum" >"$data/.stamp"
  fi
  n=$(find "$data/fer2013" -type f -name '*.jpg' | wc -l)
  say "FER2013: $n JPEGs in $data/fer2013, fingerprint matches pack-info.txt"
  done_step "ok: deps $(du -sh "$deps" | cut -f1), $n JPEGs bit-exact"
fi

# --- configure ----------------------------------------------------------------------------
if want configure; then
  begin configure
  [[ -d $lib ]] || die "no unpacked deps in $deps (step unpack)"
  if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
    export PATH=/usr/local/cuda/bin:$PATH
  fi
  # The pack's prefix first; DT_RPATH (not RUNPATH) to the pack's libraries in every
  # executable, so their own dependencies (libtiff, LAPACK...) resolve there too, without
  # LD_LIBRARY_PATH: the tests gtest_discover_tests runs during the build load.
  timeout "$(cap 180)" cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DFERLAB_PYTHON="$python" -DCMAKE_PREFIX_PATH="$deps/usr" -DFERLAB_TEST_DATA="$data" \
    -DCMAKE_BUILD_RPATH="$lib" -DCMAKE_EXE_LINKER_FLAGS="-Wl,--disable-new-dtags" \
    >"$out/build.log" 2>&1 || { tail_log "$out/build.log" 40; die "cmake configure failed (build.log)"; }
  grep -E "FERLab: LibTorch|CUDA backend" "$out/build.log" || true
  # Each dependency must come from the pack, not from something the machine happens to have.
  bad=()
  for var in OpenCV_DIR Boost_DIR boost_program_options_DIR fmt_DIR tomlplusplus_DIR \
    nlohmann_json_DIR GTest_DIR SQLite3_INCLUDE_DIR SQLite3_LIBRARY; do
    val=$(sed -n "s/^$var:[A-Z]*=//p" "$build/CMakeCache.txt")
    say "  $var = ${val:-(unset)}"
    [[ -z $val || $val == "$deps"/* ]] || bad+=("$var=$val")
  done
  ((${#bad[@]} == 0)) || die "resolved outside the pack: ${bad[*]}"
  if ! grep -q "CUDA backend: ON" "$out/build.log" && ((require_gpu)); then
    die "LibTorch without CUDA (build.log)"
  fi
  done_step "ok: $(grep -o 'LibTorch [^ ]* at' "$out/build.log" | head -1 | sed 's/ at//'), deps from $deps"
fi

# --- build --------------------------------------------------------------------------------
if want build; then
  begin build
  # All the time left: without the build nothing later can run (a second call on a still-warm
  # machine goes on from build-device/).
  limit=$(cap 100000 20)
  rc=0
  timeout "$limit" ninja -C "$build" -j "$jobs" "${targets[@]}" >>"$out/build.log" 2>&1 || rc=$?
  if ((rc != 0)); then
    grep -E "error:|Error " "$out/build.log" | head -20 || true
    tail_log "$out/build.log" 30
    ((rc == 124)) && die "build timed out after $limit s (build.log)"
    die "build failed (build.log)"
  fi
  if [[ ! -x $build/ferlab ]]; then
    say "built ${targets[*]} (no ferlab asked for)"
    done_step "ok: ${targets[*]}"
  else
    # Every library resolves, the pack's from the pack (DT_RPATH), with no LD_LIBRARY_PATH.
    env -u LD_LIBRARY_PATH ldd "$build/ferlab" >"$work/ldd.txt"
    if grep -q "not found" "$work/ldd.txt"; then
      grep "not found" "$work/ldd.txt"
      die "ferlab has unresolved libraries"
    fi
    from_pack=$(grep -c "=> $deps/" "$work/ldd.txt" || true)
    for l in libopencv_core libopencv_imgcodecs libboost_program_options libfmt libsqlite3 \
      libtomlplusplus libtiff liblapack libgdal; do
      grep -q "$l.*=> $deps/" "$work/ldd.txt" ||
        die "$l does not resolve into $deps: $(grep "$l" "$work/ldd.txt" || echo 'not loaded')"
    done
    env -u LD_LIBRARY_PATH "$build/ferlab" --help >/dev/null || die "ferlab --help failed"
    say "ferlab built; $from_pack of its libraries from the pack"
    done_step "ok: ferlab + tests, $from_pack libraries from the pack"
  fi
fi

# --- ctest -L gpu -------------------------------------------------------------------------
if want ctest; then
  begin ctest
  n=$(cd "$build" && ctest -N -L gpu | sed -n 's/^Total Tests: //p')
  if (($(left) < 230)); then
    status=1
    say "skipping ctest: $(left) s left"
    done_step "skipped: $(left) s left"
  elif [[ ${n:-0} == 0 ]]; then
    say "no test carries the label gpu"
    echo "no test carries the label gpu (ctest -N -L gpu)" >"$out/ctest.log"
    done_step "ok: 0 tests labelled gpu"
  elif (cd "$build" && with_pack timeout "$(cap 150 200)" ctest -L gpu --output-on-failure \
    --timeout 120 >"$out/ctest.log" 2>&1); then
    grep -E "tests passed|Total Test time" "$out/ctest.log" || true
    done_step "ok: $(grep -o '[0-9]*% tests passed.*' "$out/ctest.log")"
  else
    status=1
    tail_log "$out/ctest.log" 30
    done_step "FAILED: $(grep -o '[0-9]*% tests passed.*' "$out/ctest.log" || echo 'see ctest.log')"
  fi
fi

# --- training throughput on CUDA ----------------------------------------------------------
data_args=(--set "data.path=\"$data/fer2013\"" --set "data.cache_dir=\"$work/cache\""
  --set "data.cascade_dir=\"$deps/usr/share/opencv4/haarcascades\"" --set "data.subset=$subset")
# The runs of store $1 as JSON; also appended to runs.jsonl as {"store": name, "runs": [...]}.
ferlab_json() {
  with_pack "$build/ferlab" ls --json --db "$1" >"$work/ls.json"
  "$python" -c 'import json, sys; print(json.dumps({"store": sys.argv[1], "runs": json.load(open(sys.argv[2]))}))' \
    "$(basename "$1")" "$work/ls.json" >>"$out/runs.jsonl"
  cat "$work/ls.json"
}
# Field $1 of the last run in the JSON array on stdin ("-" when null).
field() {
  "$python" -c 'import json, sys
v = json.load(sys.stdin)[-1].get(sys.argv[1])
print("-" if v is None else (f"{v:.4g}" if isinstance(v, float) else v))' "$1"
}
epoch_s=0  # seconds per epoch (training + validation) of bench's batch-64 fp32 run
if want bench; then
  # bench/run_throughput.sh has no device option (it runs FERLab with --device cpu and the CPU
  # PyTorch reference), so its FERLab side runs here with --device cuda: bench/
  # ferlab_simple_cnn.toml (simple_cnn, full training split, batch 64, 2 epochs, epoch 1
  # warm-up), images/s after warm-up from the store. Then bf16 autocast and batch 256, to
  # show what the benchmark's fp32 batch 64 leaves of the GPU.
  begin bench
  bench_failed=0
  : >"$out/bench.log"
  with_pack "$build/ferlab" version >>"$out/bench.log" 2>&1 || true
  for variant in "64 fp32" "64 bf16" "256 fp32"; do
    read -r bs precision <<<"$variant"
    # The first variant is the benchmark: it runs whenever a minute is left, before the
    # accuracy run; the others only with 150 s kept for the accuracy run.
    need=240 reserve=150
    if [[ $variant == "64 fp32" ]]; then need=60 reserve=10; fi
    if (($(left) < need)); then
      say "skipping batch $bs $precision: $(left) s left"
      results+=("throughput, batch $bs $precision: skipped, $(left) s left")
      continue
    fi
    db=$work/bench-$bs-$precision.db
    res=$work/results-bench-$bs-$precision  # fresh: ferlab run resumes from runs/<id>/last.pt
    rm -rf "$db"* "$res"
    s=$(date +%s)
    echo "== batch $bs, $precision" >>"$out/bench.log"
    if with_pack timeout "$(cap 150 $reserve)" "$build/ferlab" run bench/ferlab_simple_cnn.toml --device "$train_device" \
      --db "$db" --results "$res" --set train.epochs=2 --set train.batch_size=$bs \
      --set train.precision=\"$precision\" "${data_args[@]}" >>"$out/bench.log" 2>&1; then
      js=$(ferlab_json "$db") || js='[{}]'
      v=$(field images_per_sec <<<"$js") || v=-
      say "batch $bs $precision: $v images/s after warm-up ($(($(date +%s) - s)) s wall)"
      results+=("throughput, simple_cnn batch $bs $precision, $train_device: **$v images/s** after warm-up (2 epochs, data.subset $subset of the training split; $(($(date +%s) - s)) s wall with the dataset decode)")
      if [[ $variant == "64 fp32" ]]; then
        epoch_s=$(field duration_s <<<"$js" | awk '{printf "%d", ($1 == "-" ? 0 : $1 / 2 + 1)}')
      fi
    else
      status=1 bench_failed=1
      tail_log "$out/bench.log" 20
      results+=("throughput, batch $bs $precision: FAILED (bench.log)")
    fi
  done
  grep -E "^epoch" "$out/bench.log" | head -8 || true
  if ((bench_failed)); then done_step FAILED; else done_step ok; fi
fi

# --- short accuracy run -------------------------------------------------------------------
if want accuracy; then
  begin accuracy
  # Epochs: at most 30, fewer if the time left (minus 60 s for the test evaluation and
  # predict) at the bench's seconds per epoch (same batch, precision and data) is shorter.
  epochs=$max_epochs
  if ((epoch_s > 0)); then
    fit=$((($(left) - 60) / epoch_s))
    if ((fit < epochs)); then epochs=$fit; fi
  fi
  db=$work/accuracy.db
  res=$work/results-accuracy
  if ((epochs < 1)); then
    status=1
    results+=("accuracy: skipped, no time left for an epoch ($epoch_s s each, $(left) s left)")
    done_step skipped
  elif rm -rf "$db"* "$res" && with_pack timeout "$(cap 400 15)" "$build/ferlab" run \
    scripts/device/accuracy.toml --device "$train_device" --db "$db" --results "$res" \
    --set train.epochs=$epochs "${data_args[@]}" >"$out/accuracy.log" 2>&1; then
    js=$(ferlab_json "$db") || js='[{}]'
    val=$(field val_accuracy <<<"$js"); test=$(field test_accuracy <<<"$js")
    best=$(field best_epoch <<<"$js"); dur=$(field duration_s <<<"$js")
    say "accuracy: $epochs epochs, PublicTest (best) $val, PrivateTest $test, best epoch $best, $dur s"
    results+=("accuracy, simple_cnn + hflip, data.subset $subset of FER2013, $epochs epochs on $train_device: PublicTest $val (best epoch $best), **PrivateTest $test** ($dur s)")
    # The selected checkpoint on a photograph, on the GPU: Haar face detection from the pack.
    id=$("$python" -c 'import json, sys; print(json.load(sys.stdin)[-1].get("id", ""))' <<<"$js") || id=
    if [[ -n $id ]] && with_pack timeout 60 "$build/ferlab" predict --db "$db" --results "$res" \
      --run "$id" --device "$train_device" "$data/photos/messi5.jpg" >>"$out/accuracy.log" 2>&1; then
      results+=("ferlab predict --device $train_device on photos/messi5.jpg: $(grep -m1 -o '[0-9]* faces\?' "$out/accuracy.log" || echo ok) (accuracy.log)")
    else
      status=1
      results+=("ferlab predict --device $train_device on photos/messi5.jpg: FAILED (accuracy.log)")
    fi
    done_step "ok: $epochs epochs, PrivateTest $test"
  else
    status=1
    tail_log "$out/accuracy.log" 20
    done_step "FAILED (accuracy.log)"
  fi
fi

finish "$status"
say "finished, status $status; summary:"
cat "$summary"
trap - EXIT
exit "$status"
}  # the whole script is read before any of it runs
