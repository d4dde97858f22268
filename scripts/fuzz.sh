#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a while.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}

# Runs one fuzz target; prints its final stats, and on a failure the start of the report (the
# error line, an uncaught exception's what(), the top of the stack), which `tail` alone cuts off.
run_fuzzer() {
  local name=$1
  shift
  local log=build-fuzz/$name.log
  if ASAN_OPTIONS=detect_leaks=0 "./build-fuzz/bin/$name" "$@" >"$log" 2>&1; then
    tail -n 15 "$log"
  else
    local rc=$?
    grep -m 1 -B 2 -A 40 -E "ERROR: |terminate called|runtime error" "$log" || true
    echo "..."
    tail -n 15 "$log"
    echo "$name failed (exit $rc); the input that failed is in the crash-* file named above"
    return "$rc"
  fi
}
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
run_fuzzer fuzz_onnx_loader "$corpus" -max_total_time="$secs" \
  -rss_limit_mb=2048 -max_len=200000 -timeout=10 -print_final_stats=1

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
run_fuzzer fuzz_gguf "$gguf_corpus" -max_total_time="$secs" \
  -rss_limit_mb=2048 -max_len=65536 -timeout=10 -print_final_stats=1

# Request bodies of `edgeai serve`: seeded with one body per endpoint (a 0 byte then the start of
# a document, which the target feeds to the schema's matcher).
cmake --build build-fuzz --target fuzz_serve_request
serve_corpus=build-fuzz/corpus/serve_request
mkdir -p "$serve_corpus"
printf '%s' '{"model":"story","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Hi"}],"max_tokens":16,"temperature":0.7,"top_p":0.9,"seed":3,"stop":["\n","END"],"stream":true,"stream_options":{"include_usage":true}}' >"$serve_corpus/chat.json"
printf '%s' '{"model":"story","prompt":"Once upon a time","max_tokens":8,"presence_penalty":0.5,"frequency_penalty":0.1}' >"$serve_corpus/completion.json"
printf '%s\0%s' '{"model":"story","messages":[{"role":"user","content":"json"}],"response_format":{"type":"json_schema","json_schema":{"name":"c","schema":{"type":"object","properties":{"name":{"type":"string","maxLength":5},"age":{"type":"integer"},"tags":{"type":"array","items":{"enum":["a","b",1,null]},"minItems":1,"maxItems":3},"ok":{"const":true}},"required":["name","age"]}}}}' '{"name":"Li' >"$serve_corpus/schema.json"
printf '%s' '{"model":"story","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}' >"$serve_corpus/json_object.json"
printf '%s' '{"model":"emb","input":["a","bc"],"encoding_format":"base64"}' >"$serve_corpus/embed.json"
printf '%s' '{"inputs":[{"name":"x","dtype":"float32","shape":[2,2],"data":[[1,2],[3,4.5]]},{"name":"y","dtype":"int64","shape":[3],"data":[1,-2,3]}]}' >"$serve_corpus/infer.json"
echo "== fuzzing the serve request parsers for ${secs}s"
run_fuzzer fuzz_serve_request "$serve_corpus" -max_total_time="$secs" \
  -rss_limit_mb=2048 -max_len=4096 -timeout=10 -print_final_stats=1
