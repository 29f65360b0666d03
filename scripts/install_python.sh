#!/usr/bin/env bash
# Creates .venv/ and installs scripts/python.lock into it (pinned, hashed, no resolver), once:
# a stamp file records the lock's hash, so a second call returns at once and a changed lock
# reinstalls. FERLAB_PYTHON picks the interpreter that makes the venv (default python3, which
# must be 3.11: the lock pins cp311 wheels).
set -euo pipefail
cd "$(dirname "$0")/.."

python="${FERLAB_PYTHON:-python3}"
stamp=.venv/.ferlab-lock.sha256
want="$(sha256sum scripts/python.lock | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "setup: .venv matches scripts/python.lock"
  exit 0
fi
version="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
if [[ "$version" != "3.11" ]]; then
  echo "setup: $python is Python $version; scripts/python.lock pins CPython 3.11 wheels" >&2
  exit 1
fi
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
echo "setup: installing scripts/python.lock into .venv (torch's CUDA wheel is about 530 MB)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
  --only-binary=:all: -r scripts/python.lock
.venv/bin/python - <<'PY'
import torch
# Every C++ library FERLab links (OpenCV, Boost, fmt from Debian 12) uses the C++11 ABI;
# LibTorch must too, or linking fails on std::string symbols.
assert torch.compiled_with_cxx11_abi(), "torch wheel was not built with the C++11 ABI"
print(f"setup: torch {torch.__version__} (CUDA {torch.version.cuda}), C++11 ABI")
PY
echo "$want" >"$stamp"
