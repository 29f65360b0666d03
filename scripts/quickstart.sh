#!/usr/bin/env bash
# The README's first command: set up, build, train the quickstart grid on FER2013 (CPU is
# fine), list the runs and write the report. Re-running skips the finished runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/ferlab run configs/quickstart.toml
./build/ferlab ls --experiment quickstart
./build/ferlab report --experiment quickstart -o reports/quickstart.html
