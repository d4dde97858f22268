#!/usr/bin/env bash
# Runs every test: installs and builds (scripts/setup.sh), then the unit tests, the ONNX
# conformance suite, the real-model checks against ONNX Runtime and the CLI tests with ctest;
# then an ASan+UBSan build of the same suite (less the ONNX Runtime checks); then the aarch64
# cross build's tests under qemu; then a short fuzzing run of each parser. Set EDGEAI_FAST=1 to
# run only the first part.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"  # ccache shared across clones (see setup.sh)
EDGEAI_SKIP_DEMO=1 scripts/setup.sh
jobs=$(nproc)
echo "== unit, conformance and CLI tests (Release)"
ctest --test-dir build --output-on-failure -j"$jobs"
if [ "${EDGEAI_FAST:-0}" != 1 ]; then
  echo "== the same suite under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" -DEDGEAI_SANITIZE=ON
  cmake --build build-asan
  # Under the sanitizers: every GoogleTest suite (kernels, passes, GGML, LLM, compress, serve,
  # pipeline) and the conformance suite on the reference kernels; the checks against ONNX Runtime
  # and llama.cpp (label `models`) run in the Release stage only.
  EDGEAI_CONFORMANCE_ARGS=--reference \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE models
  echo "== aarch64 cross build, unit and kernel tests under qemu-aarch64-static"
  scripts/test_aarch64.sh
  echo "== fuzzing"
  scripts/fuzz.sh 60
fi
echo "all tests passed"
