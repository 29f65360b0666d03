"""Writes the ConfigLoader seeds of the fuzz corpus from the repository's own configs
(configs/**/*.toml, experiments/**/*.toml), in the harness's input format: the experiment
file, then after a line "#--" the file it includes (its include list pointed at inc.toml),
then after another "#--" some --set overrides.
Usage: python3 make_config_seeds.py <repository root> <out folder>"""
import os
import pathlib
import re
import sys

INCLUDE = re.compile(r'^include\s*=\s*\[(.*?)\]', re.S | re.M)
OVERRIDES = ["train.lr=0.01\nmodel.name=vggnet", "train.epochs=2\ndata.subset=0.1",
             'eval.tta="flip"\ntrain.seed=[1, 2]']


def main(root, out):
    root, out = pathlib.Path(root), pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(root.glob("configs/**/*.toml")) + sorted(root.glob("experiments/**/*.toml"))
    for n, path in enumerate(files):
        text = path.read_text()
        parts = [text]
        match = INCLUDE.search(text)
        if match:
            first = re.findall(r'"([^"]+)"', match.group(1))[0]
            parts = [text[:match.start()] + 'include = ["inc.toml"]' + text[match.end():],
                     (path.parent / first).read_text()]
        if n % 3 == 0:
            parts += [""] * (2 - len(parts)) + [OVERRIDES[n // 3 % len(OVERRIDES)]]
        name = str(path.relative_to(root)).replace(os.sep, "_")
        (out / name).write_text("\n#--\n".join(parts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
