#!/usr/bin/env bash
# Checks that the ferlab binary (argument 1) is the CUDA-enabled build: its dynamic section
# lists libtorch_cuda.so, and at run time the CUDA backend is loaded (`ferlab version` reports
# "CUDA build: yes"), whether or not this machine has a GPU.
set -euo pipefail
binary="$1"
needed="$(readelf -d "$binary" | awk '/NEEDED/ {print $NF}')"
if ! grep -q '\[libtorch_cuda.so\]' <<<"$needed"; then
  echo "FAIL: $binary does not list libtorch_cuda.so; NEEDED entries:" >&2
  echo "$needed" >&2
  exit 1
fi
version="$("$binary" version)"
echo "$version"
if ! grep -q '^CUDA build: yes' <<<"$version"; then
  echo "FAIL: $binary version does not report a CUDA build" >&2
  exit 1
fi
echo "ok: libtorch_cuda.so is linked and the CUDA backend loads"
