#!/usr/bin/env bash
# Writes the report's chart libraries into reports/assets/ (ignored by git), from the
# vl-convert-python package pinned in scripts/python.lock and installed into .venv/ by
# scripts/install_python.sh:
#   reports/assets/vega-bundle.js    Vega, Vega-Lite and Vega-Embed as one classic script that
#                                    defines window.vegaEmbed (vl_convert.javascript_bundle());
#                                    framework/report/HtmlReport.cpp inlines it into every
#                                    report
#   reports/assets/vega-bundle.json  {"vega": ..., "vega-lite": ..., "vega-embed": ...,
#                                    "vl-convert-python": ..., "sha256": ...}, shown in the
#                                    report's provenance section
# Idempotent: does nothing when both files exist and are newer than scripts/python.lock, so
# setup.sh can call it on every run. FERLAB_PYTHON names another interpreter (default
# .venv/bin/python).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${FERLAB_PYTHON:-$root/.venv/bin/python}"
assets="$root/reports/assets"
bundle="$assets/vega-bundle.js"
versions="$assets/vega-bundle.json"
lock="$root/scripts/python.lock"

if [[ -f "$bundle" && -f "$versions" && "$bundle" -nt "$lock" && "$versions" -nt "$lock" ]]; then
  echo "report assets up to date ($bundle newer than scripts/python.lock)"
  exit 0
fi
if [[ ! -x "$python" ]]; then
  echo "install_report_assets.sh: $python not found: run scripts/setup.sh" \
    "(or scripts/install_python.sh) first" >&2
  exit 1
fi

mkdir -p "$assets"
# Written beside the targets and renamed, so a failed run never leaves half a bundle that
# the up-to-date check above would accept.
"$python" - "$bundle" "$versions" <<'PY'
import hashlib
import json
import os
import re
import sys
from importlib import metadata

try:
    import vl_convert
except ImportError as error:
    sys.exit(f"install_report_assets.sh: {sys.executable} cannot import vl_convert ({error}): "
             "run scripts/setup.sh")

bundle_path, versions_path = sys.argv[1], sys.argv[2]
code = vl_convert.javascript_bundle()
if "window.vegaEmbed=" not in code:
    sys.exit("install_report_assets.sh: vl_convert.javascript_bundle() does not set "
             "window.vegaEmbed; this vl-convert-python is not the pinned one")
# The bundle holds the exact Vega-Lite version as a string literal; get_vegalite_versions()
# gives only major.minor ("6.4"), the fallback when the literal is not found exactly once.
vegalite = vl_convert.get_vegalite_versions()[-1]
exact = set(re.findall(r'"(' + re.escape(vegalite) + r'\.[0-9]+)"', code))
versions = {
    "vega": vl_convert.get_vega_version(),
    "vega-lite": exact.pop() if len(exact) == 1 else vegalite,
    "vega-embed": vl_convert.get_vega_embed_version(),
    "vl-convert-python": metadata.version("vl-convert-python"),
    "sha256": hashlib.sha256(code.encode("utf-8")).hexdigest(),
}
for path, text in ((bundle_path, code), (versions_path, json.dumps(versions, indent=2) + "\n")):
    with open(path + ".tmp", "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(path + ".tmp", path)
print(f"report assets: {bundle_path} ({len(code)} bytes): vega {versions['vega']}, "
      f"vega-lite {versions['vega-lite']}, vega-embed {versions['vega-embed']}")
PY
