#!/usr/bin/env bash
# ctest driver for the report's browser test (label `browser`): writes a store of fixture runs
# (finished ones plus a failed, a running, a no-predictions and a hostile-named run) with
# make_report_fixture, renders it through the real `ferlab report` binary, and opens it in
# headless Chromium with tests/report/browser_test.py (Playwright for Python, in .venv/).
#   browser_test.sh FERLAB FIXTURE WORK_DIR [RUNS EPOCHS TEST_SAMPLES VAL_SAMPLES [MAX_MS MAX_BYTES]]
# Exit 77 (ctest SKIP_RETURN_CODE) only when /usr/bin/chromium (or $CHROMIUM) is absent.
# $FERLAB_PYTHON names another interpreter than .venv/bin/python.
set -euo pipefail
ferlab="$1" fixture="$2" work="$3"
runs="${4:-6}" epochs="${5:-6}" test_samples="${6:-600}" val_samples="${7:-300}"
max_ms="${8:-}" max_bytes="${9:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "SKIP: $chromium not found (scripts/setup.sh installs Debian's chromium)"
  exit 77
fi
python="${FERLAB_PYTHON:-$root/.venv/bin/python}"
if ! "$python" -c "import playwright.sync_api" 2>/dev/null; then
  echo "FAIL: $python cannot import playwright: run scripts/setup.sh" >&2
  exit 1
fi
data="${FERLAB_SHARED_DATA:-$root/../shared/data}/fer2013"
rm -rf "$work"
mkdir -p "$work"
"$fixture" "$work/ferlab.db" "$data" "$runs" "$epochs" "$test_samples" "$val_samples"
start=$(date +%s.%N)
"$ferlab" report -e fixture -o "$work/report.html" --db "$work/ferlab.db" --title "FERLab browser test"
end=$(date +%s.%N)
echo "ferlab report: $(echo "$end - $start" | bc) s, $(stat -c %s "$work/report.html") bytes"
# Self-contained: no script, style or image from the network.
if grep -Eq '<script[^>]+src=|<link[^>]+href=|src="https?:' "$work/report.html"; then
  echo "FAIL: $work/report.html references external resources" >&2
  exit 1
fi
limits=()
[[ -n "$max_ms" ]] && limits+=(--max-ms "$max_ms")
[[ -n "$max_bytes" ]] && limits+=(--max-bytes "$max_bytes")
# Vega draws at most 30 entries of a symbol legend and warns when it drops the rest: the
# learning curves of more than 30 runs (the 50-run scale check) list the first 30 only.
"$python" "$root/tests/report/browser_test.py" "$work/report.html" \
  --screenshot "${FERLAB_SCREENSHOT:-$work/screenshot.png}" \
  --expect-text "<script>alert(1)</script>" --expect-text "fixture[running]" \
  --allow-warning "Symbol legend count exceeds limit" \
  "${limits[@]}"
