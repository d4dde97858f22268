#!/usr/bin/python3
"""Trains the small digits CNN that ships with edgeai (models/digits/).

Data: scikit-learn's bundled handwritten digits (1,797 8x8 images, 10 classes; Debian
python3-sklearn, no download). A seeded 80/20 stratified split; the held-out 20% is saved as
.npy next to the model so that `edgeai demo`, `edgeai eval` and the tests use the same data.

Usage: /usr/bin/python3 scripts/train_digits.py [OUTDIR]   (default models/digits)
Needs python3-torch, python3-sklearn, python3-onnx, python3-numpy.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models/digits"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    np.random.seed(0)
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]  # [N,1,8,8] in [0,1]
    y = d.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)

    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    for epoch in range(40):
        model.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x_test)).argmax(1).numpy()
    acc = float((pred == y_test).mean())
    print(f"held-out accuracy: {acc * 100:.2f}% on {len(y_test)} images")

    path = os.path.join(out, "digits_cnn.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 8, 8), path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    np.save(os.path.join(out, "test_images.npy"), x_test)
    np.save(os.path.join(out, "test_labels.npy"), y_test)
    with torch.no_grad():
        ref = model(torch.from_numpy(x_test)).numpy()
    np.save(os.path.join(out, "test_logits_pytorch.npy"), ref)
    print(f"wrote {path}, test_images.npy, test_labels.npy, test_logits_pytorch.npy")


if __name__ == "__main__":
    main()
