#!/usr/bin/env bash
# Installs the report's chart libraries (vega, vega-lite, vega-embed; versions pinned in
# package-lock.json) into node_modules/, which framework/report/HtmlReport.cpp inlines into
# every report, and playwright-core (no browser download: the browser test drives Debian's
# /usr/bin/chromium). Idempotent: `npm ci` runs only when node_modules is missing or older than
# package-lock.json, so setup.sh can call this on every run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v npm >/dev/null 2>&1; then
  echo "install_report_assets.sh: npm not found; install Node.js (apt-get install -y npm)" >&2
  exit 1
fi

if [[ -d node_modules && ! node_modules -ot package-lock.json ]]; then
  echo "report assets up to date (node_modules newer than package-lock.json)"
  exit 0
fi

npm ci --no-audit --no-fund
# Some npm versions empty node_modules in place instead of recreating it, which leaves its
# mtime old; touch it so the check above holds next time.
touch node_modules
