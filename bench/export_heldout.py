#!/usr/bin/python3
"""Held-out models: torchvision networks that no kernel, pass or threshold of edgeai was tuned on,
exported as bench/export_models.py exports its seven (seeded random weights, random BatchNorm
statistics, batch 1, 224x224, opset 13), to check that the speed and the outputs carry over.
Needs Debian's python3-torch, python3-torchvision and python3-onnx.

  /usr/bin/python3 bench/export_heldout.py OUTDIR [NAME ...]
then
  node bench/onnx_vs_ort.mjs --files OUTDIR/<name>.onnx,...   (speed against ONNX Runtime)
  scripts/check_models.sh OUTDIR/<name>.onnx ...             (outputs against ONNX Runtime)
"""
import os
import sys
import warnings

warnings.filterwarnings("ignore")

HELD_OUT = ["mobilenet_v3_small", "mnasnet1_0", "regnet_y_400mf", "googlenet", "densenet121", "resnet50"]


def bench_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.environ.get("EDGEAI_BENCH_DIR"), here, os.path.join(here, "..", "..", "shared", "bench")):
        if d and os.path.exists(os.path.join(d, "export_models.py")):
            return d
    sys.exit("export_heldout: export_models.py not found (bench/, ../shared/bench, or set EDGEAI_BENCH_DIR)")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    names = sys.argv[2:] or HELD_OUT
    sys.path.insert(0, bench_dir())
    import onnx
    import torch
    import torchvision
    import export_models as em
    os.makedirs(out, exist_ok=True)
    for name in names:
        torch.manual_seed(0)
        kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
        m = em.randomize_bn(getattr(torchvision.models, name)(weights=None, **kwargs)).eval()
        x = torch.randn(1, 3, 224, 224)
        path = os.path.join(out, f"{name}.onnx")
        torch.onnx.export(m, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                          do_constant_folding=True)
        em.strip_initializer_identities(path)
        onnx.checker.check_model(onnx.load(path))
        print(f"{path} ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
