#!/usr/bin/env bash
# Checks that every model `edgeai train|prune|distill|qat` writes is a standard ONNX file that ONNX
# Runtime (npm onnxruntime-node, tests/models/node_modules) runs with the same predictions as
# edgeai: each command runs on the bundled digits CNN (short runs), then both runtimes classify the
# 360 held-out images and the arg-max of every row must agree (and logits within 1e-3 for float
# models). Prints one line per model; exits 1 when any differs, 2 on a set-up error.
#
# Usage: scripts/check_train_ort.sh [--cli PATH]   (default build/bin/edgeai)
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CLI="$REPO/build/bin/edgeai"
[ "${1:-}" = "--cli" ] && CLI="$2"
[ -x "$CLI" ] || { echo "no edgeai binary at $CLI" >&2; exit 2; }
command -v node >/dev/null || { echo "node is not installed" >&2; exit 2; }
[ -d "$REPO/tests/models/node_modules/onnxruntime-node" ] || (cd "$REPO/tests/models" && npm ci --ignore-scripts >/dev/null) || exit 2
D="$REPO/models/digits"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
DATA="--data $D/train_images.npy --labels $D/train_labels.npy -q"
run() { echo "+ edgeai $*" >&2; "$CLI" "$@" >/dev/null || { echo "FAIL: edgeai $1 exited non-zero"; exit 1; }; }
run train "$D/digits_cnn.onnx" "$W/train.onnx" $DATA --steps 50 --lr 5e-4
run prune "$D/digits_cnn.onnx" "$W/prune_magnitude.onnx" $DATA --steps 50 --target-sparsity 0.8 --reps 1
run prune "$D/digits_cnn.onnx" "$W/prune_channels.onnx" $DATA --steps 50 --method channels --flops 0.5 --reps 1
run prune "$D/digits_cnn.onnx" "$W/prune_2_4.onnx" $DATA --steps 50 --method 2:4 --reps 1
run distill "$W/distill.onnx" --teacher "$D/digits_cnn.onnx" --student "$D/digits_student.onnx" $DATA --epochs 3
run qat "$D/digits_cnn.onnx" "$W/qat.onnx" $DATA --steps 30
status=0
for m in train prune_magnitude prune_channels prune_2_4 distill qat; do
  mkdir -p "$W/$m.ort" "$W/$m.edge"
  node "$REPO/tests/models/ort_reference.js" run "$W/$m.onnx" "$W/$m.ort" image="$D/test_images.npy" >/dev/null || { echo "FAIL $m: ONNX Runtime could not run it"; status=1; continue; }
  "$CLI" run "$W/$m.onnx" -i image="$D/test_images.npy" -o "$W/$m.edge" >/dev/null || { echo "FAIL $m: edgeai run"; status=1; continue; }
  /usr/bin/python3 - "$W/$m.ort/logits.npy" "$W/$m.edge/logits.npy" "$m" <<'PY' || status=1
import sys, numpy as np
a, b, name = np.load(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3]
same = int((a.argmax(1) == b.argmax(1)).sum())
err = float(np.abs(a - b).max())
ok = same == len(a) and (name == "qat" or err <= 1e-3)
print(f"{'PASS' if ok else 'FAIL'} {name}: {same}/{len(a)} predictions agree with ONNX Runtime, max |logit diff| {err:.2e}")
sys.exit(0 if ok else 1)
PY
done
exit $status
