#!/usr/bin/env bash
# edgeai serve against the official openai npm client (tests/serve/serve_test.mjs): chat,
# streamed chat, completion (equal to `edgeai generate`), JSON-schema constrained replies,
# embeddings, /v1/models, ONNX /v1/infer (JSON and .npy, against PyTorch's logits), error status
# codes, a disconnecting client, /metrics and SIGTERM. The server listens on a free loopback port
# it picks itself (--port 0).
# usage: scripts/check_serve.sh EDGEAI_CLI WORKDIR
# Models: stories260K converted by `edgeai convert` into WORKDIR, models/digits/digits_cnn.onnx.
# npm packages: tests/serve (`npm ci --ignore-scripts` when node_modules is missing). Exit 77
# (skipped) when node or npm are missing.
set -uo pipefail
cli=${1:?usage: check_serve.sh EDGEAI_CLI WORKDIR}
work=${2:?usage: check_serve.sh EDGEAI_CLI WORKDIR}
src=$(cd "$(dirname "$0")/.." && pwd)
data=${EDGEAI_SHARED_DATA:-$src/../shared/data}
mkdir -p "$work"
command -v node >/dev/null || { echo "SKIP: node not found"; exit 77; }
if [ ! -f "$src/tests/serve/node_modules/openai/package.json" ]; then
  command -v npm >/dev/null || { echo "SKIP: npm not found"; exit 77; }
  echo "== npm ci --ignore-scripts in tests/serve"
  # One install at a time when ctest runs several builds' entries together.
  (flock 9; [ -f "$src/tests/serve/node_modules/openai/package.json" ] ||
     (cd "$src/tests/serve" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund)) 9>"$src/tests/serve/.npm.lock" ||
    { echo "FAIL: npm ci in tests/serve failed"; exit 1; }
fi
model=$work/stories260K.gguf
if [ ! -f "$model" ]; then
  "$cli" convert "$data/slm/stories260K.bin" --tokenizer "$data/slm/tok512.bin" "$model.tmp.gguf" >/dev/null &&
    mv "$model.tmp.gguf" "$model" || { echo "FAIL: edgeai convert of stories260K"; exit 1; }
fi
cd "$work" && timeout 170 node "$src/tests/serve/serve_test.mjs" --cli "$cli" --llm "$model" \
  --onnx "$src/models/digits/digits_cnn.onnx" --digits "$src/models/digits"
