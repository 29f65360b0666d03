"""Fixtures for tests/models/WeightFileTest.cpp, written by PyTorch itself.

Run by the test with the pinned environment's interpreter (.venv/bin/python, torch 2.11.0 from
scripts/python.lock; or $FERLAB_PYTHON): weight_fixtures.py OUT. Writes weight files the way
people get them (torch.save of a state dict with torch 2.x's defaults: zip archive, pickle
protocol 2, 64-byte aligned storages, .format_version, .storage_alignment, byteorder and
.data/serialization_id records; checkpoints around one; hand-made safetensors) and, for every
file, the expected tensors as raw little-endian bytes plus expected.json: {file: [{"key",
"dtype", "shape", "raw"}, ...] in file order}. Nothing is downloaded. expected.json is written
last: its presence means the set is complete.
"""

import argparse
import collections
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy
import torch
from torch import nn

SAFETENSORS_DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


class Net(nn.Module):
    """conv -> batch norm -> ReLU -> global mean -> linear; mirrored by the C++ test."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


def raw_bytes(tensor):
    tensor = tensor.detach().contiguous()
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: same bits as int16
        tensor = tensor.view(torch.int16)
    return tensor.numpy().tobytes()


def expect(out, expected, name, tensors):
    """Records `tensors` (ordered name -> tensor) as the expected content of file `name`."""
    folder = os.path.join(out, "raw", name)
    os.makedirs(folder, exist_ok=True)
    entries = []
    for index, (key, tensor) in enumerate(tensors.items()):
        raw = os.path.join("raw", name, f"{index}.bin")
        with open(os.path.join(out, raw), "wb") as f:
            f.write(raw_bytes(tensor))
        entries.append({"key": key, "dtype": str(tensor.dtype).replace("torch.", ""),
                        "shape": list(tensor.shape), "raw": raw})
    expected[name] = entries


def write_safetensors(path, tensors, metadata):
    """The safetensors layout by hand: u64 header length, JSON header, data."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for key, tensor in tensors.items():
        data = raw_bytes(tensor)
        header[key] = {"dtype": SAFETENSORS_DTYPES[tensor.dtype], "shape": list(tensor.shape),
                       "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes with spaces
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.writelines(blobs)


def trained_net():
    torch.manual_seed(0)
    net = Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net.train()
    for _ in range(2):  # moves the running statistics; num_batches_tracked becomes 2
        optimizer.zero_grad()
        net(torch.randn(2, 3, 5, 5)).sum().backward()
        optimizer.step()
    net.eval()
    return net, optimizer


def views_and_dtypes():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    return collections.OrderedDict([
        ("base", base),
        ("transposed", base.t()),    # non-contiguous view of base's storage
        ("row", base[1]),            # offset view of the same storage
        ("column", base[:, 2]),      # offset and stride
        ("half", torch.linspace(-2, 2, 6).reshape(2, 3).half()),
        ("bfloat16", torch.linspace(-3, 3, 4).bfloat16()),
        ("double", torch.tensor([1.0 / 3.0, -2.5], dtype=torch.float64)),
        ("long", torch.tensor([-5, 0, 2**40], dtype=torch.int64)),
        ("int", torch.tensor([-7, 7], dtype=torch.int32)),
        ("short", torch.tensor([-300, 300], dtype=torch.int16)),
        ("char", torch.tensor([-128, 127], dtype=torch.int8)),
        ("byte", torch.tensor([0, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(2.5)),
        ("empty", torch.zeros(0, 3)),
    ])


def write_rejected(out, net):
    state = net.state_dict()
    torch.save(state, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.trace(net, torch.randn(1, 3, 5, 5)), os.path.join(out, "scripted.pt"))
    # A zip laid out like torch.save's but holding a protocol-0 pickle (text opcodes).
    with zipfile.ZipFile(os.path.join(out, "protocol0.pth"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("protocol0/data.pkl", pickle.dumps({"a": 1}, protocol=0))
        z.writestr("protocol0/version", "3\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    expected = {}

    net, optimizer = trained_net()
    state = net.state_dict()
    torch.save(state, os.path.join(out, "net.pth"))
    torch.save(state, os.path.join(out, "net_protocol4.pth"), pickle_protocol=4)
    expect(out, expected, "net.pth", state)

    x = torch.randn(2, 3, 5, 5)
    with torch.no_grad():
        y = net(x)
    expect(out, expected, "io", collections.OrderedDict([("input", x), ("output", y)]))

    checkpoint = {"epoch": 3, "state_dict": state, "optimizer": optimizer.state_dict(),
                  "args": argparse.Namespace(lr=0.1, name="fer"), "best_acc": numpy.float64(71.5),
                  "history": [0.5, None, True, "text", (1, 2**70)]}
    torch.save(checkpoint, os.path.join(out, "checkpoint.pth"))
    torch.save({"model": state, "epoch": 1}, os.path.join(out, "model_wrapped.pth"))

    tensors = views_and_dtypes()
    torch.save(tensors, os.path.join(out, "tensors.pth"))
    expect(out, expected, "tensors.pth", tensors)

    stored = collections.OrderedDict((k, v) for k, v in tensors.items()
                                     if k not in ("transposed", "row", "column"))
    write_safetensors(os.path.join(out, "dtypes.safetensors"), stored, {"format": "pt"})
    expect(out, expected, "dtypes.safetensors", stored)
    write_safetensors(os.path.join(out, "net.safetensors"), state, {"format": "pt"})

    write_rejected(out, net)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
