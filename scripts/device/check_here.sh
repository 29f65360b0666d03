#!/usr/bin/env bash
# Checks the device recipe on this CPU machine (scripts/device/README.md, "What was checked
# here"): runs scripts/device/run.sh's preflight, unpack, configure and build steps on the
# packed .device-deps/ in a private mount namespace (unshare -m, root) where this machine's
# own copies of everything the pack carries are hidden: the Debian headers, CMake configs and
# libraries are covered by empty mounts, so configure, compile, link and load can only use
# /tmp/ferlab-deps. With a full build it then checks the compile and link lines, the
# libraries ferlab loads, and a 1-epoch CPU run plus `ferlab predict` on the pack's cascades.
#
#   bash scripts/device/check_here.sh                    # everything (21 min from scratch on
#                                                        # the shared 2 cores; 1 min when
#                                                        # build-devicecheck/ is up to date)
#   bash scripts/device/check_here.sh ferlab_core ...    # configure + these targets only
#
# Needs .venv/ (scripts/install_python.sh): its torch 2.11 wheel is the device's.
{ # the whole script is read before any of it runs: editing it meanwhile cannot break a run
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
if [[ -z ${FERLAB_CHECK_INSIDE:-} ]]; then
  [[ $(id -u) == 0 ]] || { echo "check_here.sh: needs root (unshare -m)" >&2; exit 1; }
  [[ -f .device-deps/deps.tar.xz ]] || { echo "check_here.sh: run scripts/device/pack.sh first" >&2; exit 1; }
  exec unshare -m --propagation private env FERLAB_CHECK_INSIDE=1 bash "$0" "$@"
fi
arch=x86_64-linux-gnu
deps=/tmp/ferlab-deps
out=${OUT:-/tmp/ferlab-check-out}
build=$repo/build-devicecheck
rm -rf "$out" && mkdir -p "$out"

# --- hide the machine's copies -------------------------------------------------------------
hidden=0
hide() {  # a folder gets an empty tmpfs, a file (or a link's target) /dev/null
  local p
  for p in "$@"; do
    [[ -e $p ]] || continue
    if [[ -d $p && ! -L $p ]]; then
      mount -t tmpfs -o size=1m,mode=755 none "$p"
    else
      mount --bind /dev/null "$(readlink -f "$p")"
    fi
    hidden=$((hidden + 1))
  done
}
hide /usr/include/{opencv4,boost,fmt,toml++,nlohmann,gtest,gmock} /usr/include/sqlite3{,ext}.h \
  /usr/include/$arch/opencv4 /usr/share/opencv4 /usr/share/cmake/nlohmann_json /usr/src/googletest \
  /usr/lib/$arch/cmake/{opencv4,Boost-1.74.0,boost_headers-1.74.0,boost_program_options-1.74.0,fmt,tomlplusplus,GTest} \
  /usr/lib/$arch/cmake/BoostDetectToolset-1.74.0.cmake
# Every library file the pack carries, under its own name, plus every OpenCV module, GDAL and
# GDCM (stubbed in the pack) and the BLAS/LAPACK alternatives.
mapfile -t packed < <(xz -dc .device-deps/deps.tar.xz | tar -tf - | sed -nE "s#^usr/lib/$arch/([^/]*\.(so[.0-9]*|a))\$#\1#p")
for name in "${packed[@]}"; do hide "/usr/lib/$arch/$name"; done
hide /usr/lib/$arch/libopencv_* /usr/lib/$arch/libgdal.* /usr/lib/$arch/libgdcm* \
  /usr/lib/$arch/libboost_program_options* /usr/lib/$arch/lib{blas,lapack}.so*
echo "check_here: hid $hidden files and folders of this machine; the pack carries ${#packed[@]} library files"

# --- run.sh: preflight, unpack, configure, build --------------------------------------------
export OUT=$out FERLAB_DEVICE_STEPS="preflight unpack configure build" FERLAB_DEVICE_REQUIRE_GPU=0
export FERLAB_DEVICE_JOBS=${FERLAB_DEVICE_JOBS:-2} FERLAB_PYTHON=$repo/.venv/bin/python
export FERLAB_DEVICE_BUILD=$build FERLAB_DEVICE_BUDGET_S=${FERLAB_DEVICE_BUDGET_S:-7200}
export FERLAB_DEVICE_TARGETS="$*" CCACHE_DISABLE=1
bash scripts/device/run.sh
[[ -x $build/ferlab && -z $* ]] || { echo "check_here: partial build checked"; exit 0; }

# --- what the full build used ---------------------------------------------------------------
echo "check_here: headers each object file was compiled from (ninja -t deps), outside the pack:"
leaks=$(ninja -C "$build" -t deps | grep -E "^ +/usr/include/(opencv4|boost|fmt|toml\+\+|nlohmann|gtest|gmock|sqlite3)" | sort -u || true)
[[ -z $leaks ]] || { echo "$leaks"; echo "check_here: headers leaked from the system" >&2; exit 1; }
echo "  none; from the pack: $(ninja -C "$build" -t deps | grep -c "^ *$deps/") header uses"
grep -o -- "-isystem $deps[^ ]*" "$build/compile_commands.json" | sort | uniq -c
echo "check_here: pack libraries on the link lines:"
grep -o "$deps/[^ ]*\.so[.0-9]*" "$build/build.ninja" | sort -u | sed 's/^/  /'
readelf -d "$build/ferlab" | grep -E "RPATH|RUNPATH"
echo "check_here: ldd build/ferlab (no LD_LIBRARY_PATH):"
env -u LD_LIBRARY_PATH ldd "$build/ferlab" | grep -v "^\s*/" | awk '{print "  " $1 " => " $3}' | sort
if env -u LD_LIBRARY_PATH ldd "$build/ferlab" | grep -E "not found|=> (/usr)?/lib/$arch/(libopencv|libboost|libfmt|libsqlite|libtoml|libtiff|libjpeg|libpng|libgdal)"; then
  echo "check_here: libraries resolve outside the pack" >&2
  exit 1
fi

# --- a 1-epoch CPU run and ferlab predict on the packed libraries ----------------------------
work=/tmp/ferlab-check-work
rm -rf "$work" && mkdir -p "$work"
export LD_LIBRARY_PATH=$deps/usr/lib/$arch
"$build/ferlab" run scripts/device/accuracy.toml --device cpu --db "$work/check.db" \
  --results "$work/results" --set train.epochs=1 --set data.subset=0.05 --set data.eval_subset=0.05 \
  --set "data.path=\"/tmp/ferlab-data/fer2013\"" --set "data.cache_dir=\"$work/cache\"" \
  --set "data.cascade_dir=\"$deps/usr/share/opencv4/haarcascades\"" 2>&1 | grep -vE "^\s*$" | tail -6
"$build/ferlab" ls --db "$work/check.db"
run_id=$("$build/ferlab" ls --json --db "$work/check.db" | "$FERLAB_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
"$build/ferlab" predict --db "$work/check.db" --results "$work/results" --run "$run_id" \
  --annotate "$work/messi.png" /tmp/ferlab-data/photos/messi5.jpg
file "$work/messi.png"
echo "check_here: all checks passed"
exit
}  # the whole script is read before any of it runs
