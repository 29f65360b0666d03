"""Writes the WeightFile seeds of the fuzz corpus (tests/fuzz/make_seeds.sh runs it with the
project's .venv Python): tiny real files from torch and safetensors, a few hundred bytes to a
few KB each.
Usage: python make_weight_seeds.py <out folder>"""
import collections
import os
import sys

import torch


def state_dict():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                                torch.nn.Linear(4, 3))
    return model.state_dict()


def main(out):
    os.makedirs(out, exist_ok=True)
    weights = state_dict()
    torch.save(weights, os.path.join(out, "state_dict.pt"))
    torch.save({"epoch": 3, "state_dict": weights, "arch": "tiny"},
               os.path.join(out, "checkpoint_dict.pth"))
    torch.save({"model": weights}, os.path.join(out, "model_entry.pth"), pickle_protocol=4)
    # dtypes the reader supports, and a view sharing its storage with another tensor
    base = torch.arange(12, dtype=torch.float32)
    mixed = collections.OrderedDict(
        half=torch.ones(2, dtype=torch.float16), bf16=torch.ones(2, dtype=torch.bfloat16),
        i64=torch.arange(3), i8=torch.tensor([-1, 2], dtype=torch.int8),
        flag=torch.tensor([True, False]), view=base[2:8].view(2, 3), t=base.view(3, 4).t())
    torch.save(mixed, os.path.join(out, "dtypes_views.pt"))
    # the legacy (pre-1.6) format, which FERLab rejects with a DataError
    torch.save(weights, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)
    try:
        from safetensors.torch import save_file
    except ImportError:
        print("safetensors not installed: no .safetensors seed", file=sys.stderr)
        return
    save_file({k: v.contiguous() for k, v in weights.items()},
              os.path.join(out, "state_dict.safetensors"), metadata={"format": "pt"})
    save_file({k: v.contiguous() for k, v in mixed.items() if k not in ("view", "t")},
              os.path.join(out, "dtypes.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1])
