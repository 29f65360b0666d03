"""Reference side of tests/models/BackbonesTest.cpp: the Python models FERLab's backbones must
match. Run with the project's pinned environment (.venv/bin/python from scripts/python.lock:
torch 2.11.0, torchvision 0.26.0, timm 1.0.31); nothing is downloaded (weights=None,
pretrained=False).

  backbone_reference.py versions            "torch X torchvision Y timm Z"
  backbone_reference.py shapes NAME...      one "P|B name dim..." line per parameter (P) and
                                            buffer (B) in registration order, after "# NAME"
  backbone_reference.py save NAME CLASSES SIZE FILE
                                            torch.save of the randomly initialised state dict
                                            to FILE, and of {"input": [1, 3, SIZE, SIZE],
                                            "output": eval-mode logits} to FILE.io

"xception" is timm's own legacy_xception (timm/models/xception.py, the Keras Xception of
Chollet 2017 ported by Cadene), built with timm.create_model("legacy_xception").
"""
import sys

import torch
import torchvision
from torch import nn


def build(name, num_classes=1000):
    if name == "xception":
        import timm  # imported only here: it costs seconds and the other backbones do not need it

        return timm.create_model("legacy_xception", pretrained=False, num_classes=num_classes)
    return getattr(torchvision.models, name)(weights=None, num_classes=num_classes)


def dims(tensor):
    return "".join(f" {d}" for d in tensor.shape)


def skip_initialisation():
    # Shapes do not depend on the values: leaving the weights uninitialised makes listing
    # VGG's 138M parameters instant.
    for name in ("kaiming_normal_", "kaiming_uniform_", "normal_", "uniform_", "constant_",
                 "zeros_", "ones_", "trunc_normal_", "xavier_uniform_", "xavier_normal_"):
        setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)


def print_shapes(names):
    skip_initialisation()
    for name in names:
        model = build(name)
        print(f"# {name}")
        for key, value in model.named_parameters():
            print(f"P {key}{dims(value)}")
        for key, value in model.named_buffers():
            print(f"B {key}{dims(value)}")


def randomise_batch_norm(model):
    # Fresh BatchNorm layers are the identity in eval mode; random statistics and affine
    # parameters make the comparison exercise them.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)


def save(name, num_classes, size, path):
    torch.manual_seed(0)
    model = build(name, num_classes)
    randomise_batch_norm(model)
    model.eval()
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        y = model(x)
    # torch.save's defaults, exactly what users download or save: the zip archive, pickle
    # protocol 2, storages aligned to 64 bytes (torch >= 2.1).
    torch.save(model.state_dict(), path)
    torch.save({"input": x, "output": y}, path + ".io")


def versions():
    import timm

    print(f"torch {torch.__version__} torchvision {torchvision.__version__} "
          f"timm {timm.__version__}")


if __name__ == "__main__":
    if sys.argv[1] == "shapes":
        print_shapes(sys.argv[2:])
    elif sys.argv[1] == "save":
        save(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "versions":
        versions()
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
