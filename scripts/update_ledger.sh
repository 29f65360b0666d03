#!/usr/bin/env bash
# Rewrites README.md's reproduction ledger (between the ledger markers) as
# `ferlab ledger --format markdown` prints it: the table is produced from recorded runs,
# never typed by hand. Every reference declared under experiments/reproduce/ is listed, run or
# not. By default the runs are the committed archives under results/reproductions/, imported
# into a scratch store, so the table can be rebuilt on any machine.
# Usage: scripts/update_ledger.sh [--db PATH]   (a store to read instead of the archives)
set -euo pipefail
cd "$(dirname "$0")/.."
ferlab="${FERLAB_BIN:-build/ferlab}"
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  mkdir -p results/reproductions
  "$ferlab" import results/reproductions --db "$scratch/ferlab.db" > /dev/null
  args=(--db "$scratch/ferlab.db")
fi
"$ferlab" ledger --format markdown --experiments experiments/reproduce "${args[@]}" > /tmp/ferlab-ledger.md
python3 - /tmp/ferlab-ledger.md <<'PY'
import sys
table = open(sys.argv[1]).read()
begin, end = "<!-- ledger:begin -->\n", "<!-- ledger:end -->"
readme = open("README.md").read()
start, stop = readme.index(begin) + len(begin), readme.index(end)
open("README.md", "w").write(readme[:start] + table + readme[stop:])
PY
echo "README.md: reproduction ledger updated"
