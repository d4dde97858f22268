#!/usr/bin/env bash
# edgeai vs llama.cpp (npm node-llama-cpp, through ../shared/bench/llama_run.mjs) on a random-weight
# llama of TinyLlama-1.1B's shape, written by bench/random_llama (edgeai's own GGUF writer) as F16
# and quantized with `edgeai quantize` to Q8_0 and Q4_0. For each type and thread count both run
# back to back, alternating, ROUNDS times; prints prompt (pp512) and generation (tg128) tokens/s,
# min and median over the rounds, the ratio edgeai / llama.cpp, and generation speed as a fraction
# of the memory-bandwidth bound (weights bytes per token / read bandwidth from stream.c).
# Both run with their defaults: edgeai reads the weights into memory when they fit (see
# `edgeai bench --help`: --mmap maps them), llama.cpp maps them. --edgeai-flags adds flags to
# `edgeai bench` (e.g. "--mmap"); --peer-no-mmap runs llama.cpp with useMmap: false (its --no-mmap),
# through the shim in bench/llama_no_mmap.
#
# usage: bench/llm_vs_llama_cpp.sh [--types "f16 q8_0 q4_0"] [--threads "1 2"] [--rounds 3]
#        [--layers 22] [--pp 512] [--tg 128] [--work DIR] [--cli PATH] [--edgeai-flags "..."]
#        [--peer-no-mmap]
# Needs a build with -DEDGEAI_BENCH=ON in build-bench (made if missing), node/npm and
# node-llama-cpp (installed with --ignore-scripts into WORK/node if NODE_LLAMA_CPP_DIR is unset).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
types="f16 q8_0 q4_0"; threads="1 2"; rounds=3; layers=22; pp=512; tg=128
work=$src/build-bench/llm_bench
cli=""; eflags=""; peer_no_mmap=0
while [ $# -gt 0 ]; do
  case "$1" in
    --types) types=$2; shift 2 ;; --threads) threads=$2; shift 2 ;; --rounds) rounds=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;; --pp) pp=$2; shift 2 ;; --tg) tg=$2; shift 2 ;; --work) work=$2; shift 2 ;; --cli) cli=$2; shift 2 ;;
    --edgeai-flags) eflags=$2; shift 2 ;; --peer-no-mmap) peer_no_mmap=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "llm_vs_llama_cpp.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
shared=${EDGEAI_SHARED_BENCH:-$src/../shared/bench}
mkdir -p "$work/node"
if [ ! -x "$src/build-bench/bin/random_llama" ] || { [ -z "$cli" ] && [ ! -x "$src/build-bench/bin/edgeai" ]; }; then
  cmake -S "$src" -B "$src/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGEAI_BENCH=ON -DEDGEAI_TESTS=OFF >/dev/null
  cmake --build "$src/build-bench" --target random_llama edgeai_cli
fi
[ -n "$cli" ] || cli=$src/build-bench/bin/edgeai
if [ -z "${NODE_LLAMA_CPP_DIR:-}" ]; then
  NODE_LLAMA_CPP_DIR=$work/node/node_modules/node-llama-cpp
  [ -f "$NODE_LLAMA_CPP_DIR/dist/index.js" ] ||
    (cd "$work/node" && npm install --ignore-scripts --no-audit --no-fund node-llama-cpp >npm.log 2>&1)
fi
if [ "$peer_no_mmap" = 1 ]; then
  export REAL_NODE_LLAMA_CPP_DIR=$NODE_LLAMA_CPP_DIR
  NODE_LLAMA_CPP_DIR=$src/bench/llama_no_mmap
  echo "llama.cpp runs with useMmap: false (--no-mmap)"
fi
export NODE_LLAMA_CPP_DIR
[ -z "$eflags" ] || echo "edgeai bench flags: $eflags"
# memory bandwidth: the best "read" figure of stream.c at 1 and 2 threads
gcc -O3 -march=native -fopenmp "$shared/stream.c" -o "$work/stream" 2>/dev/null
declare -A bw
for t in $threads; do
  bw[$t]=$(OMP_NUM_THREADS=$t "$work/stream" 512 5 | awk '$1 == "read" { print $3 }')
  echo "read bandwidth, $t thread(s): ${bw[$t]} GB/s (stream.c, best of 5)"
done
f16=$work/random_llama_${layers}l_f16.gguf
[ -f "$f16" ] || "$src/build-bench/bin/random_llama" "$f16" --type f16 --layers "$layers"
printf '| type | threads | edgeai pp%s min/med | llama.cpp pp%s min/med | pp ratio (med) | edgeai tg%s min/med | llama.cpp tg%s min/med | tg ratio (med) | edgeai tg / bandwidth bound | llama.cpp tg / bound |\n' $pp $pp $tg $tg
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
stats() { sort -g | awk '{ a[NR] = $1 } END { printf "%.2f %.2f\n", a[1], a[int((NR + 1) / 2)] }'; }
for ty in $types; do
  m=$work/random_llama_${layers}l_$ty.gguf
  [ -f "$m" ] || "$cli" quantize "$f16" "$m" --type "$ty" >/dev/null 2>&1
  for t in $threads; do
    : >"$work/e_pp"; : >"$work/e_tg"; : >"$work/l_pp"; : >"$work/l_tg"
    wbytes=0
    for r in $(seq "$rounds"); do
      j=$("$cli" bench "$m" -p "$pp" -n "$tg" -r 1 --threads "$t" --json $eflags)
      echo "$j" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["prompt_tokens_per_s"])' >>"$work/e_pp"
      echo "$j" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["gen_tokens_per_s"])' >>"$work/e_tg"
      wbytes=$(echo "$j" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["weights_bytes"])')
      l=$(cd "$work/node" && node "$shared/llama_run.mjs" "$m" "$t" "$pp" "$tg" 1 | sed -n 's/^JSON //p')
      echo "$l" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pp_tokens_per_s"])' >>"$work/l_pp"
      echo "$l" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["tg_tokens_per_s"])' >>"$work/l_tg"
    done
    read -r epmin epmed < <(stats <"$work/e_pp"); read -r etmin etmed < <(stats <"$work/e_tg")
    read -r lpmin lpmed < <(stats <"$work/l_pp"); read -r ltmin ltmed < <(stats <"$work/l_tg")
    awk -v ty="$ty" -v t="$t" -v a="$epmin" -v b="$epmed" -v c="$lpmin" -v d="$lpmed" -v e="$etmin" -v f="$etmed" \
        -v g="$ltmin" -v h="$ltmed" -v w="$wbytes" -v bw="${bw[$t]}" 'BEGIN {
      bound = bw * 1e9 / w;  # tokens/s if every weight byte is read once per token at stream bandwidth
      printf "| %s | %s | %.1f / %.1f | %.1f / %.1f | %.2f | %.2f / %.2f | %.2f / %.2f | %.2f | %.0f%% | %.0f%% |\n",
        ty, t, a, b, c, d, b / d, e, f, g, h, f / h, 100 * f / bound, 100 * h / bound }'
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
