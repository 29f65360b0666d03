"""Why a frozen, randomly initialised ImageNet backbone learns nothing on FER2013.

reproduce_transfer_frozen trains only a GAP + Dense(128) head on a frozen backbone. Without
ImageNet weights the backbone keeps its random initialisation, which FERLab takes from
torchvision (framework/models/backbones/ImageNetBackbone.h), and its BatchNorm layers stay in
eval mode with their initial statistics. This script measures what the head then sees: the
global-average-pooled features of torchvision's resnet50 and vgg16 (weights=None, eval mode)
for FER2013 PrivateTest images at the native 48 px, grey replicated to 3 channels and
standardised as FERLab standardises its inputs (here with the sampled images' own mean and
standard deviation, FERLab's come from the training split).

Deep random networks map different inputs to nearly the same direction (Poole et al. 2016,
"Exponential expressivity in deep neural networks through transient chaos"; Schoenholz et al.
2017, "Deep Information Propagation"), so the head has almost nothing to separate.
Printed per model: the mean and minimum cosine similarity between the features of different
images, the mean feature norm, and the share of the centred features' variance in their first
principal component. Raw pixels are the baseline.

    .venv/bin/python scripts/frozen_random_features.py [--data data/fer2013] [--images 128]
"""
import argparse
import pathlib
import random

import numpy as np
import torch
import torchvision
from PIL import Image


def load_images(data: pathlib.Path, count: int) -> torch.Tensor:
    """count PrivateTest images (FER2013 image-folder layout), N x 3 x 48 x 48, standardised."""
    files = sorted(p for p in (data / "test").glob("*/*") if p.suffix in (".png", ".jpg"))
    files = [p for p in files if "PrivateTest" in p.name]
    if len(files) < count:
        raise SystemExit(f"{data / 'test'}: {len(files)} PrivateTest images, {count} needed")
    chosen = random.Random(1).sample(files, count)
    grey = np.stack([np.asarray(Image.open(p).convert("L"), dtype=np.float32) for p in chosen])
    x = torch.from_numpy(grey / 255.0)[:, None].repeat(1, 3, 1, 1)
    return (x - x.mean()) / x.std()


def describe(name: str, features: torch.Tensor) -> None:
    f = features.flatten(1).double()
    unit = torch.nn.functional.normalize(f, dim=1)
    cosine = unit @ unit.T
    between = cosine[~torch.eye(len(cosine), dtype=torch.bool)]
    singular = torch.linalg.svdvals(f - f.mean(0))
    first_pc = (singular[0] ** 2 / (singular**2).sum()).item()
    print(f"{name:28s} cosine between images: mean {between.mean():.4f}, min {between.min():.4f}; "
          f"feature norm {f.norm(dim=1).mean():.3g}; first PC {first_pc:.1%} of the variance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=pathlib.Path("data/fer2013"))
    parser.add_argument("--images", type=int, default=128)
    args = parser.parse_args()

    torch.manual_seed(1)
    x = load_images(args.data, args.images)
    with torch.no_grad():
        resnet = torchvision.models.resnet50(weights=None).eval()
        resnet.fc = torch.nn.Identity()
        describe("resnet50, random, frozen", resnet(x))
        vgg = torchvision.models.vgg16(weights=None).eval()
        describe("vgg16, random, frozen (GAP)", vgg.features(x).mean((2, 3)))
    describe("raw pixels", x)


if __name__ == "__main__":
    main()
