#!/usr/bin/env bash
# Rewrites README.md's config reference (between the config-reference markers) from the schema,
# as `ferlab run --print-reference` prints it. tests/config/ConfigSchemaTest.cpp fails until
# README matches.
set -euo pipefail
cd "$(dirname "$0")/.."
ferlab="${FERLAB_BIN:-build/ferlab}"
"$ferlab" run --print-reference > /tmp/ferlab-config-reference.md
python3 - /tmp/ferlab-config-reference.md <<'PY'
import sys
reference = open(sys.argv[1]).read()
begin, end = "<!-- config-reference:begin -->\n", "<!-- config-reference:end -->"
readme = open("README.md").read()
start, stop = readme.index(begin) + len(begin), readme.index(end)
open("README.md", "w").write(readme[:start] + reference + readme[stop:])
PY
echo "README.md: config reference updated"
