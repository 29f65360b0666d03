"""Opens a FERLab report from disk in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright for Python, pinned in scripts/python.lock) and checks what a reader would see:
  - the page logs no console error, and no console warning but those --allow-warning names
    (Vega-Lite and vega-embed report what they cannot honour in a spec, a $schema of another
    major version for one, as warnings), throws no page error, opens no dialog (a hostile run
    name must not run as script) and requests nothing but the file itself and data: URIs;
  - every one of the eleven sections exists;
  - every chart rendered as SVG with at least one drawn mark (paths, rects, lines, symbols,
    texts under vega's `g.role-mark` groups);
  - all charts finish within --max-ms (time from navigation start to the last chart).
Writes a full-page screenshot and prints one JSON line with the numbers.

usage: .venv/bin/python tests/report/browser_test.py REPORT.html [--screenshot PNG]
       [--max-ms N] [--max-bytes N] [--expect-text TEXT]... [--allow-warning TEXT]...
$CHROMIUM names another browser (default /usr/bin/chromium).
Exit codes: 0 pass, 1 a check failed, 2 usage, 77 chromium not found (ctest SKIP_RETURN_CODE).
"""

import argparse
import json
import os
import sys
from pathlib import Path

SECTIONS = ["summary", "runs", "curves", "effects", "per-class", "significance", "seeds",
            "errors", "cross-dataset", "ledger", "provenance"]
TIMEOUT_MS = 60000

# Drawn marks per chart: the children of vega's mark groups (axes and legends excluded, they
# are role-axis / role-legend groups).
COUNT_MARKS = """divs => divs.map(div => ({
  id: div.id,
  svg: div.querySelector('svg') !== null,
  marks: div.querySelectorAll(
    'g.role-mark > path, g.role-mark > rect, g.role-mark > line, g.role-mark > text, ' +
    'g.role-mark > g > path').length,
}))"""


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Browser test of a FERLab HTML report.")
    parser.add_argument("report")
    parser.add_argument("--screenshot", default="reports/screenshot.png")
    parser.add_argument("--max-ms", type=float, default=float("inf"))
    parser.add_argument("--max-bytes", type=int, default=None)
    parser.add_argument("--expect-text", action="append", default=[])
    parser.add_argument("--allow-warning", action="append", default=[],
                        help="a console warning containing TEXT is counted, not a failure")
    return parser.parse_args(argv)


def check_page(page, url, args, failures):
    """Loads `url` in `page`, appends every failed check to `failures`, returns the numbers."""
    allowed = []

    def on_console(message):
        if message.type == "warning" and any(text in message.text for text in args.allow_warning):
            allowed.append(message.text)
        elif message.type in ("error", "warning"):
            failures.append(f"console {message.type}: {message.text}")
    page.on("console", on_console)
    page.on("pageerror", lambda error: failures.append(f"page error: {error.message}"))

    def on_dialog(dialog):
        failures.append(f"dialog opened: {dialog.message}")
        dialog.dismiss()
    page.on("dialog", on_dialog)

    def on_request(request):
        if request.url != url and not request.url.startswith("data:"):
            failures.append(f"network request: {request.url}")
    page.on("request", on_request)

    page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
    page.wait_for_function("() => document.body.dataset.charts", timeout=TIMEOUT_MS)
    state = page.evaluate("""() => ({
      charts: document.body.dataset.charts,
      chartsMs: window.ferlabRenderMs,
      doneMs: window.ferlabDoneAt,
    })""")
    if state["charts"] != "done":
        failures.append(f"charts state: {state['charts']}")

    for section in SECTIONS:
        if page.query_selector(f"section#{section} h2") is None:
            failures.append(f"section #{section} missing")
    marks = page.eval_on_selector_all("div.chart", COUNT_MARKS)
    for chart in marks:
        if not chart["svg"]:
            failures.append(f"chart {chart['id']}: no SVG")
        elif chart["marks"] == 0:
            failures.append(f"chart {chart['id']}: no marks drawn")
    if not marks:
        failures.append("no charts in the page")
    text = page.evaluate("() => document.body.innerText")
    for expected in args.expect_text:
        if expected not in text:
            failures.append(f"text not shown: {expected}")
    done_ms = state.get("doneMs")
    if done_ms is not None and done_ms > args.max_ms:
        failures.append(f"render took {done_ms:.0f} ms, limit {args.max_ms:.0f}")
    page.screenshot(path=args.screenshot, full_page=True)
    return {
        "render_ms": round(done_ms if done_ms is not None else -1),
        "charts_ms": round(state.get("chartsMs") if state.get("chartsMs") is not None else -1),
        "charts": len(marks),
        "marks": {chart["id"]: chart["marks"] for chart in marks},
        "allowed_warnings": len(allowed),
    }


def main(argv):
    args = parse_args(argv)
    executable = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if not os.access(executable, os.X_OK):
        print(f"SKIP: {executable} not found (apt-get install chromium)")
        return 77
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        print(f"FAIL: {sys.executable} cannot import playwright ({error}): run scripts/setup.sh",
              file=sys.stderr)
        return 1

    failures = []
    report = Path(args.report).resolve()
    size = report.stat().st_size
    if args.max_bytes is not None and size > args.max_bytes:
        failures.append(f"report is {size} bytes, limit {args.max_bytes}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            numbers = check_page(page, report.as_uri(), args, failures)
        finally:
            browser.close()
    result = {"report": str(report), "bytes": size, **numbers, "screenshot": args.screenshot}
    print(json.dumps(result))
    if failures:
        for failure in failures:
            print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
