"""Reference side of tests/models/BackbonesTest.cpp: the Python models FERLab's backbones must
match. Run with Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14); nothing is
downloaded (weights=None).

  backbone_reference.py shapes NAME...      one "P|B name dim..." line per parameter (P) and
                                            buffer (B) in registration order, after "# NAME"
  backbone_reference.py save NAME CLASSES SIZE FILE
                                            torch.save of the randomly initialised state dict
                                            to FILE, and of {"input": [1, 3, SIZE, SIZE],
                                            "output": eval-mode logits} to FILE.io

"xception" is timm's legacy Xception (timm/models/xception.py), transcribed here because timm
is not installed: the C++ test then checks the C++ port against this second transcription.
"""
import sys

import torch
import torchvision
from torch import nn


class SeparableConv2d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.conv1(x))


class Block(nn.Module):
    def __init__(self, cin, cout, reps, stride, start_with_relu=True, grow_first=True):
        super().__init__()
        self.skip = None
        if cout != cin or stride != 1:
            self.skip = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
            self.skipbn = nn.BatchNorm2d(cout)
        layers = []
        for i in range(reps):
            a = (cin if i == 0 else cout) if grow_first else cin
            b = cout if grow_first or i == reps - 1 else cin
            layers += [nn.ReLU(inplace=i > 0), SeparableConv2d(a, b), nn.BatchNorm2d(b)]
        if not start_with_relu:
            layers = layers[1:]
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, 1))
        self.rep = nn.Sequential(*layers)

    def forward(self, x):
        shortcut = x if self.skip is None else self.skipbn(self.skip(x))
        return self.rep(x) + shortcut


class Xception(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 2, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        blocks = [Block(64, 128, 2, 2, start_with_relu=False), Block(128, 256, 2, 2),
                  Block(256, 728, 2, 2)]
        blocks += [Block(728, 728, 3, 1) for _ in range(8)]
        blocks.append(Block(728, 1024, 2, 2, grow_first=False))
        for i, block in enumerate(blocks):
            setattr(self, f"block{i + 1}", block)
        self.conv3 = SeparableConv2d(1024, 1536)
        self.bn3 = nn.BatchNorm2d(1536)
        self.conv4 = SeparableConv2d(1536, 2048)
        self.bn4 = nn.BatchNorm2d(2048)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        for i in range(12):
            x = getattr(self, f"block{i + 1}")(x)
        x = torch.relu(self.bn3(self.conv3(x)))
        x = torch.relu(self.bn4(self.conv4(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build(name, num_classes=1000):
    if name == "xception":
        return Xception(num_classes)
    return getattr(torchvision.models, name)(weights=None, num_classes=num_classes)


def dims(tensor):
    return "".join(f" {d}" for d in tensor.shape)


def skip_initialisation():
    # Shapes do not depend on the values: leaving the weights uninitialised makes listing
    # VGG's 138M parameters instant.
    for name in ("kaiming_normal_", "kaiming_uniform_", "normal_", "uniform_", "constant_",
                 "zeros_", "ones_"):
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
    torch.save(model.state_dict(), path)  # exactly what users download or save
    torch.save({"input": x, "output": y}, path + ".io")


if __name__ == "__main__":
    if sys.argv[1] == "shapes":
        print_shapes(sys.argv[2:])
    elif sys.argv[1] == "save":
        save(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
