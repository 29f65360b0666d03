"""Collects bench/run_throughput.sh's measurements into one Markdown table and checks that
both sides measured the same thing.

Reads, from the run's work folder, for every measured (model, precision):
  ferlab-<model>-<precision>.show.json  `ferlab show --json` of the FERLab run
  ferlab-<model>-<precision>.log        its console output (for a bf16 -> fp32 fallback)
  python-<model>-<precision>.json       bench/pytorch_reference.py --json
  <side>-<model>-<precision>.load       /proc/loadavg before and after the measurement
Prints the table (and writes it to --out when given). Exits 1 when a pair disagrees on the
parameter count or the number of training images per epoch, when FERLab's LibTorch and
Python's torch differ in version, or when FERLab did not train in the requested precision.

usage: .venv/bin/python bench/throughput_table.py WORK_DIR --models M... --precisions P...
           [--out FILE.md] [--header LINE]... [--start-load L]
"""
import argparse
import json
import os
import sys


def read_json(path):
    with open(path) as f:
        return json.load(f)


def load_change(path):
    """'1.2 -> 3.4': the 1-minute load average before and after, from two /proc/loadavg lines."""
    try:
        with open(path) as f:
            values = [line.split()[0] for line in f if line.strip()]
    except OSError:
        return "?"
    return " -> ".join(values) if values else "?"


def ferlab_result(work, model, precision):
    tag = f"ferlab-{model}-{precision}"
    show = read_json(os.path.join(work, tag + ".show.json"))
    epochs = show["epochs"]
    rates = [e["images_per_sec"] for e in epochs]
    later = rates[1:] or rates
    with open(os.path.join(work, tag + ".log"), errors="replace") as f:
        fell_back = "falls back to fp32" in f.read()
    return {
        "params": show["phases"][0]["total_params"] if show["phases"] else None,
        "images": sum(epochs[0]["class_counts"]) if epochs else None,
        "rates": rates,
        "images_per_sec": sum(later) / len(later) if later else float("nan"),
        "torch": show.get("torch_version", "?"),
        "precision": show["config"]["train"]["precision"],
        "fell_back": fell_back,
        "load": load_change(os.path.join(work, tag + ".load")),
    }


def python_result(work, model, precision):
    tag = f"python-{model}-{precision}"
    result = read_json(os.path.join(work, tag + ".json"))
    result["rates"] = result["epoch_images_per_sec"]
    result["load"] = load_change(os.path.join(work, tag + ".load"))
    return result


def base_version(version):
    return str(version).split("+")[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work")
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--precisions", nargs="+", required=True)
    parser.add_argument("--out")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--start-load", type=float,
                        help="1-minute load average before the first measurement")
    args = parser.parse_args()

    rows, details, problems = [], [], []
    target = None
    for model in args.models:
        for precision in args.precisions:
            f = ferlab_result(args.work, model, precision)
            p = python_result(args.work, model, precision)
            ratio = f["images_per_sec"] / p["images_per_sec"]
            where = f"{model} {precision}"
            if f["params"] != p["params"]:
                problems.append(f"{where}: FERLab has {f['params']} parameters, "
                                f"the reference {p['params']}")
            if f["images"] != p["images"]:
                problems.append(f"{where}: FERLab trained on {f['images']} images per epoch, "
                                f"the reference on {p['images']}")
            if base_version(f["torch"]) != base_version(p["torch"]):
                problems.append(f"{where}: FERLab's LibTorch is {f['torch']}, "
                                f"the reference's torch {p['torch']}")
            if f["fell_back"] or f["precision"] != precision:
                problems.append(f"{where}: FERLab did not train in {precision} "
                                f"(config {f['precision']}, fallback {f['fell_back']})")
            rows.append(f"| {model} | {precision} | {f['images']} | {f['params']:,} | "
                        f"{f['images_per_sec']:.1f} | {p['images_per_sec']:.1f} | "
                        f"{ratio:.2f}x |")
            details.append(
                f"| {model} | {precision} | "
                f"{' / '.join(f'{r:.1f}' for r in f['rates'])} | {f['load']} | "
                f"{' / '.join(f'{r:.1f}' for r in p['rates'])} | {p['load']} |")
            if model == "simple_cnn" and precision == "fp32":
                target = ratio

    lines = list(args.header)
    if args.start_load is not None:
        lines += ["", f"1-minute load average before the first measurement: {args.start_load:.2f}"
                      + (" -- WARNING: the machine was busy; these numbers measure contention "
                         "as much as the code. Rerun on a quiet machine."
                         if args.start_load > 1.0 else ".")]
    lines += [
        "",
        "| model | precision | train images / epoch | parameters (both) | FERLab images/s | "
        "PyTorch-Python images/s | FERLab / Python |",
        "|---|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Per epoch (epoch 1 is warm-up; the table gives the mean of the later epochs) and the "
        "1-minute load average before -> after each measurement:",
        "",
        "| model | precision | FERLab images/s per epoch | load | Python images/s per epoch | "
        "load |",
        "|---|---|---|---|---|---|",
        *details,
    ]
    if target is not None:
        verdict = "met" if target >= 1.2 else "NOT met"
        lines += ["", f"Target (FERLab simple_cnn fp32 >= 1.2x the reference): {verdict} "
                      f"({target:.2f}x)."]
    if problems:
        lines += ["", "MISMATCHES (the pairs above are not comparable):"]
        lines += [f"- {problem}" for problem in problems]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
