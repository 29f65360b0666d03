"""Weight files for the backbone-fit tests of tests/models/TransferModelTest.cpp.

Run with the pinned environment's interpreter (.venv/bin/python or $FERLAB_PYTHON):
transfer_weight_fixtures.py OUT. Writes torchvision state dicts the way people save them
(torch.save(model.state_dict())), randomly initialised by the pinned torchvision: nothing is
downloaded. Files:
  resnet18.pth              every ResNet-18 tensor (the backbone's 120 plus fc.weight, fc.bias)
  mobilenet_v2.pth          a MobileNetV2: a file for another architecture
  resnet18_no_layer4.pth    ResNet-18 without layer4: 90 of the backbone's 120 tensors (75%)
done is written last: its presence means the set is complete.
"""

import os
import sys

import torch
import torchvision


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    resnet = torchvision.models.resnet18().state_dict()
    torch.save(resnet, os.path.join(out, "resnet18.pth"))
    torch.save(torchvision.models.mobilenet_v2().state_dict(), os.path.join(out, "mobilenet_v2.pth"))
    no_layer4 = {k: v for k, v in resnet.items() if not k.startswith("layer4.")}
    torch.save(no_layer4, os.path.join(out, "resnet18_no_layer4.pth"))
    with open(os.path.join(out, "done"), "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main(sys.argv[1])
