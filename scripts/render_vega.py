"""Renders Vega-Lite specs to SVG and PNG files without a browser, for `ferlab plot`
(framework/report/FigureRenderer.cpp), with vl-convert (vl-convert-python, pinned in
scripts/python.lock): Vega-Lite compiles each spec to Vega, Vega draws it as SVG in vl-convert's
embedded JavaScript runtime, and resvg rasterises the PNG. Data must be inline: no URL is
fetched. Vega-Lite's warnings ("WARN ...") go to stderr.

usage: .venv/bin/python scripts/render_vega.py JOBS.json
  JOBS.json: {"png_scale": 2.0,
              "figures": [{"spec": <Vega-Lite spec>, "svg": "a.svg" or null,
                           "png": "a.png" or null}, ...]}
  png_scale: device pixels per CSS pixel of every PNG.
Exit status: 0 ok, 2 usage or unreadable JOBS.json, 3 vl_convert not importable, 1 a figure
failed to render (the message names its file).
"""

import json
import sys


def main(argv):
    if len(argv) != 2:
        print("usage: python render_vega.py JOBS.json", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as jobs_file:
            jobs = json.load(jobs_file)
        scale = float(jobs.get("png_scale", 1.0))
        figures = jobs["figures"]
    except (OSError, ValueError, KeyError, AttributeError) as error:
        print(f"{argv[1]}: not a jobs file ({error})", file=sys.stderr)
        return 2
    try:
        import vl_convert
    except ImportError as error:
        print(f"{sys.executable}: cannot import vl_convert ({error}): the Python package "
              "vl-convert-python is missing: run scripts/setup.sh", file=sys.stderr)
        return 3

    # allowed_base_urls=[]: specs carry their data inline, so any URL is a bug, not a fetch.
    # Warnings are shown once per figure, by its first conversion.
    for figure in figures:
        spec, svg_path, png_path = figure["spec"], figure.get("svg"), figure.get("png")
        try:
            if svg_path:
                svg = vl_convert.vegalite_to_svg(spec, show_warnings=True, allowed_base_urls=[])
                with open(svg_path, "w", encoding="utf-8") as out:
                    out.write(svg)
            if png_path:
                png = vl_convert.vegalite_to_png(spec, scale=scale, show_warnings=not svg_path,
                                                 allowed_base_urls=[])
                with open(png_path, "wb") as out:
                    out.write(png)
        except Exception as error:  # vl-convert raises ValueError; files raise OSError
            print(f"{svg_path or png_path}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
