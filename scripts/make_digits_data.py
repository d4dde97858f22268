#!/usr/bin/python3
"""Training data for `edgeai train|prune|distill|qat` on the bundled digits CNN.

Writes the 80% training split of scikit-learn's digits (the same seeded stratified split as
scripts/train_digits.py, whose held-out 20% is models/digits/test_images.npy) as
train_images.npy [1437,1,8,8] f32 in [0,1] and train_labels.npy [1437] int64.

With --size 28: a 28x28 digits set for LeNet-size models (no MNIST offline): every 8x8 image
upsampled bilinearly to 24x24 and placed at a random offset (shift up to +-2 pixels) in a 28x28
frame, plus Gaussian noise (sigma 0.05), clipped to [0,1]; --copies N augmented copies of each
training image (the held-out split gets one copy, its own seed). 10% of the training digits
(stratified, seeded) are kept out of train28 as a validation set for early stopping, one
augmented copy each (its own seed): validation then sees new digits, as the held-out set does,
not augmented copies of training digits. Writes train28_*.npy, val28_*.npy and test28_*.npy.
Deterministic (seeded).

Usage: /usr/bin/python3 scripts/make_digits_data.py [OUTDIR] [--size 28] [--copies 3]
Needs python3-sklearn and python3-numpy (and python3-torch only for the bilinear resize).
"""
import argparse
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def upsample28(x, rng):
    import torch
    import torch.nn.functional as F
    big = F.interpolate(torch.from_numpy(x), size=(24, 24), mode="bilinear", align_corners=False).numpy()
    out = np.zeros((x.shape[0], 1, 28, 28), np.float32)
    for i in range(x.shape[0]):
        dy, dx = rng.integers(0, 5, size=2)
        out[i, :, dy:dy + 24, dx:dx + 24] = big[i]
    out += rng.normal(0, 0.05, out.shape).astype(np.float32)
    return np.clip(out, 0, 1).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="models/digits")
    ap.add_argument("--size", type=int, default=8)
    ap.add_argument("--copies", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    if a.size == 8:
        np.save(os.path.join(a.out, "train_images.npy"), x_train)
        np.save(os.path.join(a.out, "train_labels.npy"), y_train)
        print(f"wrote {len(y_train)} training images to {a.out}")
        return
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.1, random_state=1,
                                                      stratify=y_train)
    rng = np.random.default_rng(28)
    xs = np.concatenate([upsample28(x_train, rng) for _ in range(a.copies)])
    ys = np.concatenate([y_train] * a.copies)
    np.save(os.path.join(a.out, "val28_images.npy"), upsample28(x_val, np.random.default_rng(2829)))
    np.save(os.path.join(a.out, "val28_labels.npy"), y_val)
    np.save(os.path.join(a.out, "train28_images.npy"), xs)
    np.save(os.path.join(a.out, "train28_labels.npy"), ys)
    np.save(os.path.join(a.out, "test28_images.npy"), upsample28(x_test, np.random.default_rng(2828)))
    np.save(os.path.join(a.out, "test28_labels.npy"), y_test)
    print(f"wrote {len(ys)} training, {len(y_val)} validation and {len(y_test)} held-out 28x28 images to {a.out}")


if __name__ == "__main__":
    main()
