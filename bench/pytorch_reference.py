"""The plain PyTorch-Python reference for FERLab's training-throughput benchmark.

The same networks as FERLab, layer for layer: simple_cnn (framework/models/SimpleCnn.h) and
vggnet (framework/models/VggNet.h, with FERLab's per-model defaults: batch norm, no conv
dropout, fc dropout 0.2). Trained the way most FER2013 scripts do it: torchvision
ImageFolder (grayscale loader) + RandomHorizontalFlip + ToTensor + Normalize, a DataLoader
with 2 workers, batch 64, Adam (lr 1e-3), cross-entropy; bf16 through
torch.autocast("cpu", dtype=torch.bfloat16) around the forward pass and the loss (the
PyTorch AMP recipe). Prints images/s over each epoch (the training loop only, the loader's
worker start included); epoch 1 is warm-up, so the number to compare is the mean over the
later epochs.

--subset takes the training images FERLab's `data.subset` takes: the same number per class
(a fraction in (0, 1], or an integer above 1 = a number of training images turned into the
fraction count / training size; per class round(fraction x n), at least 1, as
framework/data/Splits.cpp does). The images are a seeded random choice per class, not
FERLab's (its shuffle runs over its own sample order); for throughput only the count matters,
every image being 48 x 48 grayscale. Like FERLab, a final batch of a single image is
dropped (BatchNorm cannot train on one sample).

Run with the project's virtual environment (PyPI torch, the LibTorch FERLab builds against):

usage: .venv/bin/python bench/pytorch_reference.py [--model simple_cnn|vggnet]
           [--precision fp32|bf16] [--subset F] [--epochs 2] [--threads N] [--workers 2]
           [--channels-last] [--data data/fer2013/train] [--json PATH] [--params-only]
"""
import argparse
import json
import math
import os
import random
import time

import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T
from PIL import Image


def simple_cnn(num_classes=7):
    """framework/models/SimpleCnn.cpp with FERLab's defaults (no batch norm)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(inplace=True),
        nn.Conv2d(32, 64, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(64, 128, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(128, 128, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(2048, 1024), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(1024, num_classes))


def vggnet(num_classes=7):
    """framework/models/VggNet.cpp with FERLab's vggnet defaults (Khaireddin & Chen 2021):
    four stages of 2 x [conv3x3 pad 1, BatchNorm, ReLU] + maxpool 2, widths 64/128/256/512,
    then 4608 -> 4096 -> 4096 -> num_classes with ReLU and dropout 0.2."""
    layers, in_channels = [], 1
    for width in (64, 128, 256, 512):
        for conv_in in (in_channels, width):
            layers += [nn.Conv2d(conv_in, width, 3, padding=1), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True)]
        layers.append(nn.MaxPool2d(2))
        in_channels = width
    layers.append(nn.Flatten())
    layers += [nn.Linear(512 * 3 * 3, 4096), nn.ReLU(inplace=True), nn.Dropout(0.2),
               nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.2),
               nn.Linear(4096, num_classes)]
    return nn.Sequential(*layers)


MODELS = {"simple_cnn": simple_cnn, "vggnet": vggnet}


def grayscale_loader(path):
    """torchvision's PIL loader with one channel ("L") instead of RGB: FER2013 is grayscale."""
    with open(path, "rb") as f:
        return Image.open(f).convert("L")


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def quota(fraction, n):
    """framework/data/Splits.cpp quota(): llround(fraction * n) clamped to [1, n]."""
    if n == 0 or fraction <= 0.0:
        return 0
    return min(max(int(math.floor(fraction * n + 0.5)), 1), n)


def subset_indices(targets, subset, seed):
    """Indices of a stratified subset with FERLab's per-class counts for `data.subset`."""
    if subset > 1.0:
        if subset != math.floor(subset) or subset > len(targets):
            raise SystemExit(f"--subset {subset}: a count must be a whole number <= {len(targets)}")
        fraction = subset / len(targets)
    elif subset > 0.0:
        fraction = subset
    else:
        raise SystemExit(f"--subset {subset}: must be a fraction in (0, 1] or a count > 1")
    if fraction == 1.0:
        return list(range(len(targets)))
    by_class = {}
    for index, label in enumerate(targets):
        by_class.setdefault(label, []).append(index)
    rng = random.Random(seed)
    chosen = []
    for label in sorted(by_class):
        members = by_class[label]
        rng.shuffle(members)
        chosen += members[:quota(fraction, len(members))]
    return sorted(chosen)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/fer2013/train")
    parser.add_argument("--model", choices=sorted(MODELS), default="simple_cnn")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--subset", type=float, default=1.0,
                        help="FERLab's data.subset: fraction in (0, 1] or a count > 1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads of the training process (0: PyTorch's default)")
    parser.add_argument("--channels-last", action="store_true",
                        help="channels-last model and inputs (FERLab's train.channels_last)")
    parser.add_argument("--json", help="write the result as one JSON object to this file")
    parser.add_argument("--params-only", action="store_true",
                        help="print the parameter count and exit")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = MODELS[args.model]()
    params = parameter_count(model)
    if args.params_only:
        print(f"{args.model}: {params} parameters")
        return
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.precision == "bf16" and not torch.backends.mkldnn.is_available():
        raise SystemExit("bf16 needs oneDNN (torch.backends.mkldnn), which this torch lacks")

    transform = T.Compose([T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    dataset = torchvision.datasets.ImageFolder(args.data, transform=transform,
                                               loader=grayscale_loader)
    indices = subset_indices(dataset.targets, args.subset, args.seed)
    if len(indices) % args.batch_size == 1 and len(indices) > 1:
        indices = indices[:-1]  # FERLab drops a final batch of one (BatchNorm)
    train_set = torch.utils.data.Subset(dataset, indices)
    loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    bf16 = args.precision == "bf16"
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, {args.workers} loader "
          f"workers; {args.model} ({params} parameters), {args.precision}"
          f"{', channels-last' if args.channels_last else ''}; "
          f"{len(train_set)} of {len(dataset)} training images", flush=True)

    rates = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, seen, loss_sum = time.perf_counter(), 0, 0.0
        for images, labels in loader:
            images = images.contiguous(memory_format=memory_format)
            optimizer.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            seen += images.size(0)
            loss_sum += loss.item() * images.size(0)
        rate = seen / (time.perf_counter() - start)
        rates.append(rate)
        print(f"epoch {epoch}: loss {loss_sum / seen:.4f}, {rate:.1f} images/s", flush=True)
    later = rates[1:] or rates
    result = {"model": args.model, "precision": args.precision, "params": params,
              "images": len(train_set), "epoch_images_per_sec": rates,
              "images_per_sec": sum(later) / len(later), "threads": torch.get_num_threads(),
              "workers": args.workers, "channels_last": args.channels_last,
              "torch": torch.__version__, "torchvision": torchvision.__version__}
    print(f"images/s after warm-up: {result['images_per_sec']:.1f}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out)


if __name__ == "__main__":
    main()
