#!/usr/bin/python3
"""The plain PyTorch-Python reference for FERLab's training-throughput benchmark.

The same simple_cnn (framework/models/SimpleCnn.h), batch 64, Adam (lr 1e-3), trained the
way most FER2013 scripts do it: torchvision ImageFolder + RandomHorizontalFlip + ToTensor,
a DataLoader with 2 workers. Prints images/s over each epoch; epoch 1 is warm-up, so the
number to compare is the mean over the later epochs. Uses Debian's python3-torch and
python3-torchvision (run with /usr/bin/python3).

usage: bench/pytorch_reference.py [--data data/fer2013/train] [--epochs 2] [--threads N]
"""
import argparse
import os
import time

import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T


def simple_cnn(num_classes=7):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(inplace=True),
        nn.Conv2d(32, 64, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(64, 128, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(128, 128, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(2048, 1024), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(1024, num_classes))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/fer2013/train")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads of the training process (0: PyTorch's default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    transform = T.Compose([T.Grayscale(1), T.RandomHorizontalFlip(), T.ToTensor()])
    dataset = torchvision.datasets.ImageFolder(args.data, transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True, num_workers=2)
    model = simple_cnn(len(dataset.classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, {len(dataset)} images")

    rates = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, seen, loss_sum = time.perf_counter(), 0, 0.0
        for images, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            seen += images.size(0)
            loss_sum += loss.item() * images.size(0)
        rate = seen / (time.perf_counter() - start)
        rates.append(rate)
        print(f"epoch {epoch}: loss {loss_sum / seen:.4f}, {rate:.1f} images/s", flush=True)
    later = rates[1:] or rates
    print(f"images/s after warm-up: {sum(later) / len(later):.1f}")


if __name__ == "__main__":
    main()
