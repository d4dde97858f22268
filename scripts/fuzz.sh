#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a while.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEDGEAI_FUZZ=ON -DEDGEAI_TESTS=OFF >/dev/null
cmake --build build-fuzz --target fuzz_onnx_loader
corpus=build-fuzz/corpus/onnx
mkdir -p "$corpus"
# Seeds: a spread of the ONNX conformance models and the bundled model.
if [ -d /usr/share/libonnx-testdata/data/node ]; then
  i=0
  for m in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
    i=$((i + 1))
    [ $((i % 7)) -eq 0 ] && cp "$m" "$corpus/$(basename "$(dirname "$m")").onnx"
  done
fi
cp models/digits/digits_cnn.onnx "$corpus/"
echo "== fuzzing the ONNX loader for ${secs}s"
ASAN_OPTIONS=detect_leaks=0 ./build-fuzz/bin/fuzz_onnx_loader "$corpus" -max_total_time="$secs" \
  -rss_limit_mb=2048 -max_len=200000 -timeout=10 -print_final_stats=1 2>&1 | tail -n 15

# GGUF reader: seeded with llama.cpp's vocabulary files (metadata only; libFuzzer cuts them to
# -max_len, which keeps it at thousands of runs a second) and a small generated file with tensors.
cmake --build build-fuzz --target fuzz_gguf
gguf_corpus=build-fuzz/corpus/gguf
mkdir -p "$gguf_corpus"
for g in ../shared/data/slm/tokenizers/*.gguf; do
  if [ -f "$g" ]; then cp "$g" "$gguf_corpus/"; fi
done
python3 scripts/gguf_dump.py --write-seed "$gguf_corpus/seed_tensors.gguf"
echo "== fuzzing the GGUF reader for ${secs}s"
ASAN_OPTIONS=detect_leaks=0 ./build-fuzz/bin/fuzz_gguf "$gguf_corpus" -max_total_time="$secs" \
  -rss_limit_mb=2048 -max_len=65536 -timeout=10 -print_final_stats=1 2>&1 | tail -n 15
