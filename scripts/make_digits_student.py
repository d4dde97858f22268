#!/usr/bin/python3
"""A small, untrained student for distilling the bundled digits CNN (models/digits/digits_cnn.onnx,
22,954 parameters): Conv(1->8) ReLU, Conv(8->16) ReLU, MaxPool, Conv(16->16) ReLU, MaxPool,
Linear(64->10): 4,218 parameters (5.4x fewer). PyTorch's default initialization, seed 0.

Usage: /usr/bin/python3 scripts/make_digits_student.py [OUT.onnx]  (default models/digits/digits_student.onnx)
"""
import sys

import torch
import torch.nn as nn


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models/digits/digits_student.onnx"
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64, 10))
    print("parameters:", sum(p.numel() for p in m.parameters()))
    torch.onnx.export(m, torch.zeros(1, 1, 8, 8), out, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    print("wrote", out)


if __name__ == "__main__":
    main()
