#!/usr/bin/python3
"""Untrained LeNet-size models for 28x28 digits (see scripts/make_digits_data.py --size 28), for
`edgeai train|prune|distill|qat` done-when checks (scripts/check_lenet.sh):

  lenet.onnx          LeNet-5: Conv(1->6,5x5,pad 2) ReLU MaxPool, Conv(6->16,5x5) ReLU MaxPool,
                      Linear(400->120) ReLU, Linear(120->84) ReLU, Linear(84->10): 61,706 parameters
  lenet_student.onnx  Conv(1->4,5x5,pad 2) ReLU MaxPool, Conv(4->8,5x5) ReLU MaxPool,
                      Linear(200->48) ReLU, Linear(48->10): 11,050 parameters (5.6x fewer)

PyTorch's default initialization, seed 0. Usage: /usr/bin/python3 scripts/make_lenet.py OUTDIR
"""
import os
import sys

import torch
import torch.nn as nn


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def student():
    return nn.Sequential(
        nn.Conv2d(1, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(200, 48), nn.ReLU(), nn.Linear(48, 10))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for name, make in (("lenet", lenet), ("lenet_student", student)):
        torch.manual_seed(0)
        m = make()
        path = os.path.join(out, name + ".onnx")
        torch.onnx.export(m, torch.zeros(1, 1, 28, 28), path, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
        print(f"{path}: {sum(p.numel() for p in m.parameters())} parameters")


if __name__ == "__main__":
    main()
