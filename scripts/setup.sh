#!/usr/bin/env bash
# Installs everything FERLab needs on a fresh Debian 12 machine, idempotently:
# - Debian packages: compiler, OpenCV, SQLite, Boost, fmt, GoogleTest, toml++, nlohmann-json,
#   Chromium (the report's browser test), Slurm and MUNGE (the `slurm` tests), sshfs and
#   openssh-server (the `netfs` test), protobuf (TensorBoard event files), libcurl (MLflow);
# - PyPI packages into the project's .venv/, pinned with hashes in scripts/python.lock: torch
#   (its LibTorch, CUDA 13.0 build, is what CMake links), the Python references, the report's
#   chart bundle (vl-convert-python) and the browser-test driver (playwright);
# - the report's chart bundle, written from the pinned vl-convert-python;
# - the data/fer2013 link to the shared dataset.
# The CUDA 13 toolkit (/usr/local/cuda) is expected on the machine, as on FERLab's build and CI
# machines; the lock leaves out the CUDA libraries it already provides.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git binutils
  libopencv-dev opencv-data libsqlite3-dev sqlite3 libboost-program-options-dev libfmt-dev
  libgtest-dev libgmock-dev libtomlplusplus-dev nlohmann-json3-dev zlib1g-dev
  chromium
  # The `slurm` tests' one-node cluster (tests/slurm/cluster.sh). Without systemd their
  # postinst starts no daemon (invoke-rc.d finds no runlevel), and none is needed: the tests
  # start private ones.
  slurmctld slurmd slurm-client munge
  # The network-filesystem store test (tests/cli/network_store_test.sh): sshfs to a private
  # sshd on 127.0.0.1. As above, no daemon is started on install; the test starts its own.
  sshfs openssh-server
  # `ferlab run --tensorboard`: TensorBoard event files are protobuf `Event` messages; the
  # messages are TensorBoard's own .proto files (third_party/tensorboard/), compiled by
  # protoc and linked against libprotobuf (framework/mirror/EventFileWriter.h).
  libprotobuf-dev protobuf-compiler
  # `ferlab run --mlflow` and `ferlab sync`: MLflow's REST API over HTTP(S) through a
  # well-kept client rather than one of our own (framework/mirror/MlflowClient.h).
  libcurl4-openssl-dev
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

bash scripts/install_python.sh
bash scripts/install_report_assets.sh

# The default data path is data/fer2013; link the shared, read-only copy (never copy it).
if [ ! -e data/fer2013 ] && [ -d ../shared/data/fer2013 ]; then
  mkdir -p data
  ln -s ../../shared/data/fer2013 data/fer2013
fi
echo "setup: ok"
