#!/usr/bin/env bash
# Installs everything FERLab needs on a fresh Debian 12 machine, idempotently:
# Debian packages (compiler deps, LibTorch CPU 1.13, OpenCV, SQLite, Boost, fmt, GoogleTest,
# toml++, nlohmann-json; python3-torch/torchvision for bench/), the report's chart libraries
# from npm (pinned in package-lock.json), and the data/fer2013 link to the shared dataset.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-openmp libopencv-dev opencv-data libsqlite3-dev sqlite3 libboost-program-options-dev libfmt-dev
  libgtest-dev libgmock-dev libtomlplusplus-dev nlohmann-json3-dev
  python3-torch python3-torchvision python3-scipy chromium
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# Node.js may come from elsewhere than Debian (an npm 11 upgrade, say): only ask apt for it
# when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

bash scripts/install_report_assets.sh

# The default data path is data/fer2013; link the shared, read-only copy (never copy it).
if [ ! -e data/fer2013 ] && [ -d ../shared/data/fer2013 ]; then
  mkdir -p data
  ln -s ../../shared/data/fer2013 data/fer2013
fi
echo "setup: ok"
