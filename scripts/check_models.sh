#!/usr/bin/env bash
# Checks that edgeai computes the same outputs as ONNX Runtime (npm onnxruntime-node 1.30) on real
# models. One line per model: PASS/FAIL, the max abs error against ONNX Runtime, its largest
# output magnitude and the time each part took. Exits 1 when any model fails, 2 on a usage or
# set-up error.
#
# Usage: scripts/check_models.sh [options] [MODEL ...]
#   MODEL: mobilenet_v2 resnet18 squeezenet1_1 shufflenet_v2_x1_0 efficientnet_b0 mlp transformer
#          (exported by bench/export_models.py with seeded random weights; one seeded standard
#          normal input, the same .npy bytes for both runtimes), and vad: Silero VAD v5 from npm
#          @ricky0123/vad-web run over the 9 WAV files of Debian's alsa-utils (48 kHz, resampled to
#          16 kHz by tests/models/ort_reference.js), 512-sample frames with the state carried from
#          call to call; every frame's probability and the final state are compared by the
#          GoogleTest SileroVadTest (tests/models/vad_test.cc) in edgeai_tests.
#          resnet18 and transformer are also checked mapped: rewritten by `edgeai convert
#          --external-data`, run by ONNX Runtime from the external-data file and by `edgeai run --mmap`.
#          "all" = every model above. A path to an .onnx file checks that model (one seeded input per
#          graph input), for example the held-out models of bench/export_heldout.py. Default: all (each takes seconds; see DEFAULT_MODELS).
#   --cli PATH       edgeai binary (default build/bin/edgeai)
#   --tests PATH     edgeai_tests binary, for vad (default: next to the CLI)
#   --threads N      threads for both runtimes (default 1)
#   --seed N         input seed (default 1234)
#   --rtol R --atol A  tolerances (default 1e-4, 1e-5: numpy.allclose |got - ort| <= atol + rtol |ort|)
# Environment: EDGEAI_MODEL_CACHE (exported models and run folders; default build/models),
#   EDGEAI_BENCH_DIR (folder with export_models.py; default bench/, else ../shared/bench).
# Works on a fresh Debian 12 after scripts/setup.sh: installs what it lacks (APT_* lists below) with
# apt-get, and the npm packages of tests/models with `npm ci --ignore-scripts`.
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"

# ---- apt packages this script needs, installed when missing -----------------------------------
APT_NODE=(nodejs npm)                                              # ONNX Runtime runs under Node
APT_EXPORT=(python3-torch python3-torchvision python3-onnx python3-numpy)  # exporting the models
APT_VAD=(alsa-utils)                                               # /usr/share/sounds/alsa/*.wav
# -------------------------------------------------------------------------------------------------

ALL_MODELS=(mlp squeezenet1_1 mobilenet_v2 shufflenet_v2_x1_0 efficientnet_b0 resnet18 transformer vad)
DEFAULT_MODELS=("${ALL_MODELS[@]}")

CLI="$REPO/build/bin/edgeai"
TESTS=""
THREADS=1
SEED=1234
RTOL=1e-4
ATOL=1e-5
MODELS=()
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --cli) CLI="$2"; shift 2 ;;
    --tests) TESTS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --rtol) RTOL="$2"; shift 2 ;;
    --atol) ATOL="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "check_models.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    all) MODELS+=("${ALL_MODELS[@]}"); shift ;;
    *) MODELS+=("$1"); shift ;;
  esac
done
[ ${#MODELS[@]} -eq 0 ] && MODELS=("${DEFAULT_MODELS[@]}")
for m in "${MODELS[@]}"; do
  case "$m" in *.onnx) [ -f "$m" ] || { echo "check_models.sh: no such model file $m" >&2; exit 2; }; continue ;; esac
  case " ${ALL_MODELS[*]} " in *" $m "*) ;; *) echo "check_models.sh: unknown model '$m' (known: ${ALL_MODELS[*]}, or a path to an .onnx file)" >&2; exit 2 ;; esac
done
CLI="$(cd "$(dirname "$CLI")" 2>/dev/null && pwd)/$(basename "$CLI")"
[ -x "$CLI" ] || { echo "check_models.sh: no edgeai binary at $CLI (build it, or pass --cli)" >&2; exit 2; }
[ -n "$TESTS" ] || TESTS="$(dirname "$CLI")/edgeai_tests"
CACHE="${EDGEAI_MODEL_CACHE:-$REPO/build/models}"
mkdir -p "$CACHE/run" || exit 2
CACHE="$(cd "$CACHE" && pwd)"
NODE_DIR="$REPO/tests/models"
ORT_JS="$NODE_DIR/ort_reference.js"
PY=/usr/bin/python3

now() { echo "${EPOCHREALTIME/,/.}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }'; }

apt_ensure() {  # installs the packages not yet installed
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "== apt-get install -y ${missing[*]}" >&2
  (export DEBIAN_FRONTEND=noninteractive
   $sudo apt-get install -y -qq "${missing[@]}" >&2 ||
     { $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq "${missing[@]}" >&2; })
}

# One lock for the shared cache and node_modules, so parallel runs do not install or export twice.
exec 9>"$CACHE/.lock"
locked() { flock 9; "$@"; local rc=$?; flock -u 9; return $rc; }

# ---- ONNX Runtime under Node
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_ensure "${APT_NODE[@]}" || exit 2
npm_ready() { (cd "$NODE_DIR" && node -e 'require("onnxruntime-node"); require.resolve("@ricky0123/vad-web/package.json");
  if (require("onnxruntime-node/package.json").version !== require("./package.json").dependencies["onnxruntime-node"]) process.exit(1)') 2>/dev/null; }
npm_install() {
  npm_ready && return 0
  echo "== npm ci --ignore-scripts in tests/models" >&2
  (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund >&2)
}
t0=$(now)
locked npm_install || { echo "check_models.sh: npm ci in $NODE_DIR failed" >&2; exit 2; }
npm_ready || { echo "check_models.sh: onnxruntime-node does not load (see: cd tests/models && node -e 'require(\"onnxruntime-node\")')" >&2; exit 2; }
echo "setup: node $(node --version), onnxruntime-node $(cd "$NODE_DIR" && node -p 'require("onnxruntime-node/package.json").version') ($(secs "$t0" "$(now)"))"

# ---- exporting (only the models not in the cache)
export_models() {  # MODEL... -> $CACHE/MODEL.onnx
  local need=() m
  for m in "$@"; do [ -s "$CACHE/$m.onnx" ] || need+=("$m"); done
  [ ${#need[@]} -eq 0 ] && return 0
  local bench="${EDGEAI_BENCH_DIR:-}"
  if [ -z "$bench" ]; then
    for d in "$REPO/bench" "$REPO/../shared/bench"; do [ -f "$d/export_models.py" ] && { bench="$d"; break; }; done
  fi
  [ -n "$bench" ] && [ -f "$bench/export_models.py" ] ||
    { echo "check_models.sh: export_models.py not found (bench/, ../shared/bench; or set EDGEAI_BENCH_DIR)" >&2; return 1; }
  apt_ensure "${APT_EXPORT[@]}" || return 1
  # export_models.py's own main() exports all seven models plus TorchScript copies; this exports
  # only the ones asked for, the same way (its SPECS, randomize_bn, strip_initializer_identities;
  # seed 0 before each model, so a model's weights do not depend on which others are exported).
  "$PY" - "$bench" "$CACHE" "${need[@]}" <<'PY'
import os, sys, time, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, sys.argv[1])
import torch
import onnx
import export_models as em
out = sys.argv[2]
for name in sys.argv[3:]:
    t = time.time()
    tmp = os.path.join(out, f".{name}.{os.getpid()}.onnx")
    try:
        ctor, shape, opset = em.SPECS[name]
        torch.manual_seed(0)
        m = em.randomize_bn(ctor()).eval()
        x = torch.randn(*shape)
        torch.onnx.export(m, x, tmp, opset_version=opset, input_names=["input"], output_names=["output"],
                          do_constant_folding=True)
        em.strip_initializer_identities(tmp)
        onnx.checker.check_model(onnx.load(tmp))
        os.replace(tmp, os.path.join(out, f"{name}.onnx"))
        print(f"export: {name} opset {opset} input {list(shape)} ({time.time() - t:.1f}s)")
    except Exception as e:  # reported per model by check_model
        print(f"export: {name} FAILED: {type(e).__name__}: {e}")
PY
}

failures=0
results=()
report() { echo "$1"; results+=("$1"); }

check_model() {  # MODEL [mapped]: export if needed, inputs, ONNX Runtime, edgeai, compare
  # mapped: the model rewritten by `edgeai convert --external-data` (weights in an aligned external
  # file), run by ONNX Runtime from that file and by `edgeai run --mmap` (weights used in place).
  local m="$1" variant="${2:-}" t_in t_ort t_edge t_cmp
  local a model="$CACHE/$m.onnx" label="$m" run_flags=()
  case "$m" in *.onnx) model="$(cd "$(dirname "$m")" && pwd)/$(basename "$m")"; m="$(basename "$m" .onnx)"; label="$m" ;; esac
  local dir="$CACHE/run/$m${variant:+-$variant}"
  rm -rf "$dir"; mkdir -p "$dir"
  if [ ! -s "$model" ]; then
    report "FAIL $m: not exported: $(grep -E "$m|Error|error" "$CACHE/run/export.log" | tail -n 3 | tr '\n' ' ')"; return 1
  fi
  if [ "$variant" = mapped ]; then
    label="$m (mapped)"
    mkdir -p "$dir/model"
    if ! "$CLI" convert "$model" "$dir/model/$m.onnx" --external-data > "$dir/convert.log" 2>&1; then
      report "FAIL $label: edgeai convert --external-data failed: $(tail -n 3 "$dir/convert.log" | tr '\n' ' ')"; return 1
    fi
    model="$dir/model/$m.onnx"
    run_flags=(--mmap)
  fi
  a=$(now)
  if ! node "$ORT_JS" inputs "$model" "$dir/in" --seed "$SEED" > "$dir/inputs.log" 2>&1; then
    report "FAIL $label: making inputs failed: $(tail -n 3 "$dir/inputs.log" | tr '\n' ' ')"; return 1
  fi
  t_in=$(secs "$a" "$(now)")
  local feeds=() name file
  while IFS= read -r line; do
    name=$(sed -n 's/.*"input":"\([^"]*\)".*/\1/p' <<< "$line")
    file=$(sed -n 's/.*"file":"\([^"]*\)".*/\1/p' <<< "$line")
    [ -n "$name" ] && feeds+=("$name=$file")
  done < "$dir/inputs.log"
  a=$(now)
  if ! node "$ORT_JS" run "$model" "$dir/ort" "${feeds[@]}" --threads "$THREADS" > "$dir/ort.log" 2>&1; then
    report "FAIL $label: ONNX Runtime failed: $(tail -n 3 "$dir/ort.log" | tr '\n' ' ')"; return 1
  fi
  t_ort=$(secs "$a" "$(now)")
  local eargs=() f
  for f in "${feeds[@]}"; do eargs+=(--input "$f"); done
  a=$(now)
  if ! "$CLI" run "$model" "${eargs[@]}" "${run_flags[@]}" --output-dir "$dir/edgeai" --threads "$THREADS" > "$dir/edgeai.log" 2>&1; then
    report "FAIL $label: edgeai run failed ($(secs "$a" "$(now)")): $(tail -n 3 "$dir/edgeai.log" | tr '\n' ' ')"; return 1
  fi
  t_edge=$(secs "$a" "$(now)")
  a=$(now)
  local ok=1 worst=0 refmax=0 msgs="" out err amax j
  while IFS= read -r line; do
    out=$(sed -n 's/.*"file":"\([^"]*\)".*/\1/p' <<< "$line")
    [ -n "$out" ] || continue
    amax=$(sed -n 's/.*"abs_max":\([^,}]*\).*/\1/p' <<< "$line")
    f="$dir/edgeai/$(basename "$out")"
    if [ ! -f "$f" ]; then ok=0; msgs+=" $(basename "$out" .npy): edgeai wrote no such output;"; continue; fi
    j=$("$CLI" compare "$f" "$out" --rtol "$RTOL" --atol "$ATOL" --json 2>&1)
    err=$(sed -n 's/.*"max_abs_error":\([^,}]*\).*/\1/p' <<< "$j")
    [ -n "$err" ] || err=nan
    worst=$(awk -v a="$worst" -v b="$err" 'BEGIN { print (b == "nan" || b + 0 > a + 0) ? b : a }')
    refmax=$(awk -v a="$refmax" -v b="$amax" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
    if ! grep -q '"equal":true' <<< "$j"; then
      ok=0; msgs+=" $(basename "$out" .npy): $(sed -n 's/.*"message":"\([^"]*\)".*/\1/p' <<< "$j")$([ -z "$err" ] && echo "$j");"
    fi
  done < "$dir/ort.log"
  t_cmp=$(secs "$a" "$(now)")
  local line
  line=$(printf '%-18s max abs err %-9.3g max |ort| %-8.3g  export %s inputs %s ort %s edgeai %s compare %s' \
         "$label" "$worst" "$refmax" "${EXPORT_TIME[$m]:-cached}" "$t_in" "$t_ort" "$t_edge" "$t_cmp")
  if [ $ok = 1 ]; then report "PASS $line"; return 0; fi
  report "FAIL $line;$msgs"
  return 1
}

check_vad() {  # Silero VAD v5: ORT frame loop in Node, edgeai's in the GoogleTest SileroVadTest
  local dir="$CACHE/run/vad" a t_ort t_edge
  rm -rf "$dir"; mkdir -p "$dir"
  local model="$NODE_DIR/node_modules/@ricky0123/vad-web/dist/silero_vad_v5.onnx"
  [ -f "$model" ] || { report "FAIL vad: $model is missing (npm ci in tests/models)"; return 1; }
  [ -x "$TESTS" ] || { report "FAIL vad: no edgeai_tests binary at $TESTS (build it, or pass --tests)"; return 1; }
  compgen -G "/usr/share/sounds/alsa/*.wav" >/dev/null || apt_ensure "${APT_VAD[@]}" || true
  local wavs=(/usr/share/sounds/alsa/*.wav) audio=()
  if [ -f "${wavs[0]}" ]; then audio=("${wavs[@]}"); else
    echo "vad: no /usr/share/sounds/alsa/*.wav (alsa-utils); using the generated speech-like signal" >&2
    audio=(--synthetic)
  fi
  a=$(now)
  if ! node "$ORT_JS" vad "$model" "$dir/ref" "${audio[@]}" --threads "$THREADS" > "$dir/ort.log" 2>&1; then
    report "FAIL vad: ONNX Runtime frame loop failed: $(tail -n 3 "$dir/ort.log" | tr '\n' ' ')"; return 1
  fi
  t_ort=$(secs "$a" "$(now)")
  local frames speech
  frames=$(sed -n 's/.*"vad_frames":\([0-9]*\).*/\1/p' "$dir/ort.log")
  speech=$(sed -n 's/.*"speech_frames":\([0-9]*\).*/\1/p' "$dir/ort.log")
  a=$(now)
  EDGEAI_VAD_REFERENCE="$dir/ref" EDGEAI_VAD_RTOL="$RTOL" EDGEAI_VAD_ATOL="$ATOL" "$TESTS" --gtest_filter='SileroVadTest.*' --gtest_color=no > "$dir/edgeai.log" 2>&1
  local rc=$?
  t_edge=$(secs "$a" "$(now)")
  local stats
  stats=$(sed -n 's/^\[ vad      \] [0-9]* frames of [0-9]* samples: //p' "$dir/edgeai.log" | sed 's/; edgeai.*//')
  local line="vad                ${frames:-?} frames (${speech:-?} speech) ${stats:-}  ort ${t_ort} edgeai ${t_edge}"
  if [ $rc -eq 0 ] && grep -q '^\[  PASSED  \] 1 test' "$dir/edgeai.log"; then report "PASS $line"; return 0; fi
  report "FAIL $line; $(grep -E 'differ|frame [0-9]+:|SKIPPED|FAILED|rror' "$dir/edgeai.log" |
    grep -v '^\[ vad      \] [0-9]* frames' | head -n 5 | tr '\n' ' ')(log: $dir/edgeai.log)"
  return 1
}

echo "models: ${MODELS[*]} (cli $CLI, cache $CACHE, rtol $RTOL atol $ATOL, $THREADS thread(s))"
T0=$(now)
declare -A EXPORT_TIME
to_export=()
for m in "${MODELS[@]}"; do
  case "$m" in *.onnx) continue ;; esac
  [ "$m" != vad ] && [ ! -s "$CACHE/$m.onnx" ] && to_export+=("$m")
done
if [ ${#to_export[@]} -gt 0 ]; then
  a=$(now)
  locked export_models "${to_export[@]}" > "$CACHE/run/export.log" 2>&1
  t=$(secs "$a" "$(now)")
  echo "export: ${to_export[*]} ($t, log $CACHE/run/export.log)"
  for m in "${to_export[@]}"; do
    EXPORT_TIME[$m]=$(sed -n "s/^export: $m .*(\([0-9.]*s\))\$/\1/p" "$CACHE/run/export.log")
  done
fi
for m in "${MODELS[@]}"; do
  if [ "$m" = vad ]; then check_vad || failures=$((failures + 1))
  else check_model "$m" || failures=$((failures + 1)); fi
done
# The mapped load on real models: resnet18 (convs, BatchNorm folded into new tensors) and the
# transformer (MatMul weights read in place), when they were asked for.
for m in resnet18 transformer; do
  case " ${MODELS[*]} " in *" $m "*) check_model "$m" mapped || failures=$((failures + 1)) ;; esac
done
echo "== ${#results[@]} checked, $failures failed ($(secs "$T0" "$(now)") total)"
[ $failures -eq 0 ]
