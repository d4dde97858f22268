#!/usr/bin/python3
"""Writes models/digits/calib_images.npy: calibration images for int8 quantization of the digits CNN,
taken from the TRAINING split of scripts/train_digits.py (same seeded 80/20 stratified split), so the
held-out test_images.npy stays for evaluation only. Checks that the split reproduces test_images.npy.

Usage: /usr/bin/python3 scripts/make_digits_calibration.py [OUTDIR] [COUNT]   (default models/digits 200)
Needs python3-sklearn, python3-numpy.
"""
import os
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models/digits"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    x_train, x_test, _, _ = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    test = os.path.join(out, "test_images.npy")
    if os.path.exists(test) and not np.array_equal(np.load(test), x_test):
        sys.exit(f"{test} is not the held-out split of train_digits.py; refusing to write calibration data")
    path = os.path.join(out, "calib_images.npy")
    np.save(path, np.ascontiguousarray(x_train[:count]))
    print(f"wrote {path}: {min(count, len(x_train))} training images")


if __name__ == "__main__":
    main()
