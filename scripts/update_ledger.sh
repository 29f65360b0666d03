#!/usr/bin/env bash
# Rewrites README.md's reproduction ledger (between the ledger markers) from a store, as
# `ferlab ledger --format markdown` prints it: the table is produced from the recorded runs,
# never typed by hand. Every reference declared under experiments/reproduce/ is listed, run or
# not. Usage: scripts/update_ledger.sh [--db PATH] (default results/ferlab.db)
set -euo pipefail
cd "$(dirname "$0")/.."
ferlab="${FERLAB_BIN:-build/ferlab}"
"$ferlab" ledger --format markdown --experiments experiments/reproduce "$@" > /tmp/ferlab-ledger.md
python3 - /tmp/ferlab-ledger.md <<'PY'
import sys
table = open(sys.argv[1]).read()
begin, end = "<!-- ledger:begin -->\n", "<!-- ledger:end -->"
readme = open("README.md").read()
start, stop = readme.index(begin) + len(begin), readme.index(end)
open("README.md", "w").write(readme[:start] + table + readme[stop:])
PY
echo "README.md: reproduction ledger updated"
