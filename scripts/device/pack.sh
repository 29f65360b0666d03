#!/usr/bin/env bash
# Packs what FERLab needs on the lent GPU machine (scripts/device/README.md) into .device-deps/,
# the one ignored folder a device `run` carries:
#   deps.tar.xz     Debian 12's OpenCV 4.6 (core imgproc imgcodecs objdetect and the modules
#                   objdetect loads), Boost.Program_options, fmt, toml++, nlohmann-json,
#                   SQLite3, GoogleTest: headers, CMake configs, shared libraries and their
#                   runtime closure, pruned; GDAL and GDCM replaced by stubs (see README)
#   fer2013.tar.xz  FER2013 (35,887 JPEGs) and the test photos; the JPEGs losslessly
#                   re-coded with arithmetic coding (jpegtran), restored bit-exact on the device
#   pack-info.txt   package versions, sizes, the dataset fingerprint run.sh checks
# Downloads and unpacked packages stay in .device-work/ (never carried). Runs here (Debian 12,
# x86-64) as root; re-running reuses the downloads and the packed dataset.
{ # the whole script is read before any of it runs: editing it meanwhile cannot break a run
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
carry=$repo/.device-deps
work=$repo/.device-work
shared=${FERLAB_SHARED_DATA:-$repo/../shared/data}
limit=$((64 * 1024 * 1024))
arch=x86_64-linux-gnu
t0=$(date +%s)
step() { printf '[%s +%4ds] %s\n' "$(date +%H:%M:%S)" $(($(date +%s) - t0)) "$*"; }
die() { echo "pack.sh: $*" >&2; exit 1; }

for tool in apt-get dpkg-deb readelf nm gcc g++ xz tar python3 git sha256sum; do
  command -v "$tool" >/dev/null || die "needs $tool"
done
[[ -d $shared/fer2013/train ]] || die "no FER2013 at $shared/fer2013 (set FERLAB_SHARED_DATA)"

# --- packages ---------------------------------------------------------------------------
# Build: headers, CMake configs, link-time files. The OpenCV -dev packages of the four modules
# FERLab uses; libopencv-dev only for its CMake config (OpenCVConfig.cmake).
dev_pkgs=(libopencv-dev libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libopencv-objdetect-dev libboost1.74-dev libboost-program-options1.74-dev libfmt-dev
  libtomlplusplus-dev nlohmann-json3-dev libsqlite3-dev libgtest-dev libgmock-dev opencv-data)
# Runtime: the DT_NEEDED closure of those libraries (checked below with readelf), minus what
# the device has (glibc, GCC runtime, zlib, xz, zstd, bzip2, libmd: elfpack.py DEVICE_SONAMES).
run_pkgs=(libopencv-core406 libopencv-imgproc406 libopencv-imgcodecs406 libopencv-objdetect406
  libopencv-dnn406 libopencv-calib3d406 libopencv-features2d406 libopencv-flann406
  libboost-program-options1.74.0 libfmt9 libtomlplusplus3 libsqlite3-0
  libtbb12 libprotobuf32 libjpeg62-turbo libpng16-16 libwebp7 libtiff6 libjbig0 liblerc4
  libdeflate0 libopenjp2-7 libopenexr-3-1-30 libimath-3-1-29 liblapack3 libblas3
  libgfortran5 libquadmath0 libglx0 libglvnd0 libx11-6 libxcb1 libxau6 libxdmcp6 libbsd0
  libjpeg-turbo-progs)
# Read for their symbol tables only: imgcodecs links GDAL and GDCM (about 150 MB of closure:
# poppler, proj, hdf5, netcdf, ICU, x265...), which FERLab never calls; they become stubs.
stub_pkgs=(libgdal32 libgdcm3.0)
stub_sonames=(libgdal.so.32 libgdcmMSFF.so.3.0 libgdcmDSED.so.3.0)
seeds=(libopencv_core.so.406 libopencv_imgproc.so.406 libopencv_imgcodecs.so.406
  libopencv_objdetect.so.406 libboost_program_options.so.1.74.0 libfmt.so.9 libsqlite3.so.0
  libtomlplusplus.so.3 libjpeg.so.62)
opencv_modules=(core imgproc imgcodecs objdetect dnn calib3d features2d flann)

mkdir -p "$work/debs" "$carry"
missing=()
for p in "${dev_pkgs[@]}" "${run_pkgs[@]}" "${stub_pkgs[@]}"; do
  compgen -G "$work/debs/${p}_*.deb" >/dev/null || missing+=("$p")
done
if ((${#missing[@]})); then
  step "apt-get update, then download ${#missing[@]} package(s)"
  apt-get update -qq
  # apt warns that it downloads as root rather than _apt; harmless here.
  (cd "$work/debs" && apt-get download "${missing[@]}" 2>&1 | grep -v "unsandboxed as root" || true)
  for p in "${missing[@]}"; do
    compgen -G "$work/debs/${p}_*.deb" >/dev/null || die "apt-get download $p failed"
  done
else
  step "all $((${#dev_pkgs[@]} + ${#run_pkgs[@]} + ${#stub_pkgs[@]})) packages already in $work/debs"
fi

step "unpacking with dpkg -x into $work/root"
rm -rf "$work/root" "$work/prefix" "$work/stubs"
for p in "${dev_pkgs[@]}" "${run_pkgs[@]}" "${stub_pkgs[@]}"; do
  dpkg -x "$(compgen -G "$work/debs/${p}_*.deb" | head -1)" "$work/root"
done
debian=$work/root/usr

# --- the prefix that travels: $work/prefix/usr ---------------------------------------------
step "assembling the pruned prefix"
pre=$work/prefix/usr
mkdir -p "$pre/include" "$pre/lib/$arch" "$pre/share/opencv4/haarcascades" "$pre/bin"
# Headers: OpenCV's four modules, fmt, toml++, nlohmann, SQLite, GoogleTest; no docs, no man.
cp -a "$debian/include/opencv4" "$debian/include/fmt" "$debian/include/toml++" \
  "$debian/include/nlohmann" "$debian/include/gtest" "$debian/include/gmock" \
  "$debian/include/sqlite3.h" "$debian/include/sqlite3ext.h" "$pre/include/"
# Boost: 160 MB of headers; FERLab includes only <boost/program_options.hpp>. Keep that
# header's include closure (as GCC sees it in C++17 and C++20) plus boost/config/ whole, the
# compiler-detection headers another compiler version could pick.
printf '#include <boost/program_options.hpp>\n' >"$work/bpo.cpp"
for std in c++17 gnu++17 c++20; do
  g++ -std=$std -M -isystem "$debian/include" "$work/bpo.cpp"
done | tr ' \\' '\n\n' | grep "^$debian/include/boost/" | sort -u |
  sed "s|^$debian/include/||" >"$work/boost-headers.txt"
(cd "$debian/include" && find boost/config -type f >>"$work/boost-headers.txt")
(cd "$debian/include" && sort -u "$work/boost-headers.txt" | tar -cf - -T -) | tar -C "$pre/include" -xf -
# CMake package configs (relocatable: each finds its prefix from its own location).
cp -a "$debian/lib/$arch/cmake" "$pre/lib/$arch/"
mkdir -p "$pre/share/cmake" && cp -a "$debian/share/cmake/nlohmann_json" "$pre/share/cmake/"
rm -f "$pre/lib/$arch/cmake/boost_program_options-1.74.0/libboost_program_options-variant-static.cmake"
# OpenCVModules-release.cmake checks that every module's library exists; keep the check only
# for the modules that travel.
keep_re="opencv_($(IFS='|'; echo "${opencv_modules[*]}"))"
awk -v keep="^${keep_re}\$" '
  /_cmake_import_check_targets opencv_|_cmake_import_check_files_for_opencv_/ {
    match($0, /opencv_[a-z0-9_]+/); m = substr($0, RSTART, RLENGTH)
    if (m !~ keep) next
  }
  { print }' "$debian/lib/$arch/cmake/opencv4/OpenCVModules-release.cmake" \
  >"$pre/lib/$arch/cmake/opencv4/OpenCVModules-release.cmake"
# Cascades: the two Haar files FERLab's face alignment and `ferlab predict` load.
cp "$debian/share/opencv4/haarcascades/haarcascade_frontalface_default.xml" \
  "$debian/share/opencv4/haarcascades/haarcascade_eye.xml" "$pre/share/opencv4/haarcascades/"
cp "$debian/bin/jpegtran" "$pre/bin/"

# Libraries: everything Debian unpacked, the BLAS/LAPACK alternatives made plain files, the
# GDAL/GDCM stubs in place of the real ones, then pruned to the DT_NEEDED closure.
lib=$pre/lib/$arch
cp -a "$debian/lib/$arch/"*.so* "$debian/lib/$arch/"libgtest*.a "$debian/lib/$arch/"libgmock*.a "$lib/"
for alt in lapack/liblapack.so.3 blas/libblas.so.3; do
  cp "$(readlink -f "$debian/lib/$arch/$alt")" "$lib/$(basename "$alt")"
done
step "building stubs for ${stub_sonames[*]}"
reals=()
for s in "${stub_sonames[@]}"; do reals+=("$(readlink -f "$debian/lib/$arch/$s")"); done
python3 scripts/device/elfpack.py stubs "$work/stubs" "${reals[@]}" \
  --users "$lib"/libopencv_*.so.4.6.0
for s in "${stub_sonames[@]}"; do
  rm -f "$lib/$s" "$lib/${s%.so*}.so"*
  cp "$work/stubs/$s" "$lib/$s"
done
step "pruning to the DT_NEEDED closure of: ${seeds[*]}"
mapfile -t closure < <(python3 scripts/device/elfpack.py closure "$lib" "${seeds[@]}")
declare -A keep=()
for n in "${closure[@]}"; do
  keep[$n]=1
  keep[$(basename "$(readlink -f "$lib/$n")")]=1
done
for f in "$lib"/*.so*; do
  b=$(basename "$f")
  [[ -n ${keep[$b]:-} ]] && continue
  # Development links (libfmt.so -> libfmt.so.9) of kept libraries stay for find_library.
  if [[ -L $f && $b == *.so && -n ${keep[$(basename "$(readlink -f "$f")")]:-} ]]; then continue; fi
  rm -f "$f"
done
step "checking every DT_NEEDED and undefined symbol (readelf, nm)"
python3 scripts/device/elfpack.py check "$lib" "$lib"/libopencv_*.so.406 \
  "$lib"/libboost_program_options.so.1.74.0 "$lib"/libfmt.so.9 "$lib"/libsqlite3.so.0 \
  "$lib"/libtomlplusplus.so.3 "$pre/bin/jpegtran"

step "packing deps.tar.xz"
tar_opts=(--sort=name --owner=0 --group=0 --numeric-owner --mtime=@0)
tar -C "$work/prefix" "${tar_opts[@]}" -cf - usr | xz -9e -T2 >"$carry/deps.tar.xz.tmp"
mv "$carry/deps.tar.xz.tmp" "$carry/deps.tar.xz"

# --- FER2013 -------------------------------------------------------------------------------
# The JPEGs are baseline Huffman-coded; `jpegtran -arithmetic` re-codes the same DCT
# coefficients with arithmetic coding and `jpegtran` without it gives the original file back,
# byte for byte (checked for every file here, and run.sh checks the fingerprint there). Under
# xz that is 48.2 MB instead of 51.6 MB for the plain tar.
manifest_sha=$(sha256sum "$shared/fer2013.MANIFEST.sha256" | cut -d' ' -f1)
stamp="$manifest_sha $(sha256sum "$shared/photos/"* | sha256sum | cut -d' ' -f1)"
if [[ -f $carry/fer2013.tar.xz && -f $work/fer2013.stamp && "$(cat "$work/fer2013.stamp")" == "$stamp" ]]; then
  step "fer2013.tar.xz is up to date"
else
  step "re-coding 35,887 JPEGs with arithmetic coding and checking each round trip"
  stage=$work/data/ferlab-data
  rm -rf "$work/data" && mkdir -p "$stage"
  cp -a "$shared/photos" "$stage/"
  (cd "$shared" && find fer2013 -type d) | (cd "$stage" && xargs mkdir -p)
  export J="$pre/bin/jpegtran" LD_LIBRARY_PATH="$lib" SRC="$shared" DST="$stage"
  (cd "$shared" && find fer2013 -type f -name '*.jpg' -print0) |
    xargs -0 -n 400 -P "$(nproc)" bash -c '
      for f; do
        "$J" -arithmetic -copy all "$SRC/$f" >"$DST/$f"
        "$J" -copy all "$DST/$f" | cmp -s - "$SRC/$f" || { echo "round trip differs: $f" >&2; exit 255; }
      done' bash
  unset J LD_LIBRARY_PATH SRC DST
  n=$(find "$stage/fer2013" -type f -name '*.jpg' | wc -l)
  [[ $n == 35887 ]] || die "re-coded $n JPEGs, expected 35887"
  step "packing fer2013.tar.xz (xz -9e, about 2 minutes)"
  tar -C "$work/data" "${tar_opts[@]}" -cf - ferlab-data | xz -9e -T2 >"$carry/fer2013.tar.xz.tmp"
  mv "$carry/fer2013.tar.xz.tmp" "$carry/fer2013.tar.xz"
  echo "$stamp" >"$work/fer2013.stamp"
  rm -rf "$work/data"
fi
# Fingerprint of the original files, computed the same way in run.sh after the restore.
fingerprint=$(cd "$shared" && find fer2013 -type f -name '*.jpg' | LC_ALL=C sort |
  xargs -d '\n' sha256sum | sha256sum | cut -d' ' -f1)

# --- sizes ---------------------------------------------------------------------------------
tree=$(git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [[ -f $f && ! -L $f ]] && stat -c %s "$f"; done |
  awk '{s += $1} END {print s + 0}')
deps_b=$(stat -c %s "$carry/deps.tar.xz")
data_b=$(stat -c %s "$carry/fer2013.tar.xz")
{
  echo "FERLab device pack, made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "fer2013_fingerprint=$fingerprint"
  echo "deps_tar_xz_bytes=$deps_b"
  echo "deps_unpacked_bytes=$(du -sb "$work/prefix" | cut -f1)"
  echo "fer2013_tar_xz_bytes=$data_b"
  echo "stubs=${stub_sonames[*]}"
  echo "libraries=$(cd "$lib" && ls ./*.so.* | sed 's|^\./||' | tr '\n' ' ')"
  echo "packages:"
  for p in "${dev_pkgs[@]}" "${run_pkgs[@]}"; do
    dpkg-deb -W --showformat='  ${Package} ${Version}\n' "$(compgen -G "$work/debs/${p}_*.deb" | head -1)"
  done
} >"$carry/pack-info.txt"
carry_b=$(du -sb "$carry" | cut -f1)
total=$((tree + carry_b))
mib() { awk -v b="$1" 'BEGIN {printf "%.2f MiB", b / 1048576}'; }
step "sizes:"
printf '  %-44s %12s  %s\n' "working tree (tracked + untracked, unignored)" "$tree" "$(mib "$tree")" \
  ".device-deps/deps.tar.xz" "$deps_b" "$(mib "$deps_b")" \
  ".device-deps/fer2013.tar.xz" "$data_b" "$(mib "$data_b")" \
  ".device-deps/ (all)" "$carry_b" "$(mib "$carry_b")" \
  "total that travels" "$total" "$(mib "$total")" \
  "limit" "$limit" "$(mib "$limit")"
((total <= limit)) || die "the working tree and .device-deps/ are $(mib "$total"), over $(mib "$limit")"
step "done: carry [\".device-deps\"], command: bash scripts/device/run.sh"
exit
}  # the whole script is read before any of it runs
