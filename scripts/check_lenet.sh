#!/usr/bin/env bash
# Issue 8's done-when figures on a LeNet-size model for 28x28 digits. No MNIST offline: the data
# are scikit-learn's 8x8 digits upsampled to 28x28 with random shifts and noise
# (scripts/make_digits_data.py --size 28), the models untrained LeNet-5 and a 5.6x smaller student
# (scripts/make_lenet.py). Trains LeNet with `edgeai train`, then prunes (magnitude 50% and 80%,
# channels to half the FLOPs), distills into the student (against the student trained on labels
# alone) and runs QAT, printing each command's report. Early stopping (distill, qat) validates on
# val28: training digits kept out of train28, so validation sees new digits as the held-out set
# does. Takes a few minutes on 2 cores.
#
# Usage: scripts/check_lenet.sh [--cli PATH] [WORKDIR]   (default build/bin/edgeai, a temp folder)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
E="$REPO/build/bin/edgeai"
if [ "${1:-}" = "--cli" ]; then E="$2"; shift 2; fi
W="${1:-$(mktemp -d)}"
mkdir -p "$W" && cd "$W"
[ -f lenet.onnx ] || /usr/bin/python3 "$REPO/scripts/make_lenet.py" . >/dev/null 2>&1
[ -f val28_images.npy ] || /usr/bin/python3 "$REPO/scripts/make_digits_data.py" . --size 28 --copies 3
D="--data train28_images.npy --labels train28_labels.npy --eval-data test28_images.npy --eval-labels test28_labels.npy -q"
V="--val-data val28_images.npy --val-labels val28_labels.npy"
[ -f lenet_trained.onnx ] || "$E" train lenet.onnx lenet_trained.onnx $D --epochs 30 --lr 2e-3 --optimizer adamw --weight-decay 0.01
"$E" prune lenet_trained.onnx lenet_p50.onnx $D --target-sparsity 0.5 --steps 600
"$E" prune lenet_trained.onnx lenet_p80.onnx $D --target-sparsity 0.8 --steps 600
"$E" prune lenet_trained.onnx lenet_channels.onnx $D --method channels --flops 0.5 --steps 600 --lr 1e-3
# A third of the FLOPs, for comparison: at half, batch-1 latency falls ~1.78x since the direct conv
# kernel for few input channels and small planes (was ~1.47x: conv1's im2col and the pools cost
# the same at any width).
"$E" prune lenet_trained.onnx lenet_channels35.onnx $D --method channels --flops 0.35 --steps 1500 --lr 1e-3
"$E" distill lenet_student_distilled.onnx --teacher lenet_trained.onnx --student lenet_student.onnx $D $V \
  --epochs 60 --patience 15 --temperature 4 --alpha 0.5 --baseline
"$E" qat lenet_trained.onnx lenet_qat.onnx $D $V
