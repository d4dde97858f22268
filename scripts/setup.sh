#!/usr/bin/env bash
# Installs everything edgeai needs on Debian 12, builds it in Release, and runs the demo.
# Usage: scripts/setup.sh            (from the repository root; run as root or with sudo)
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache (when present) keys on paths relative to the checkout, so clones in other folders share it.
export CCACHE_BASEDIR="$PWD"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PKGS=(cmake ninja-build g++ ccache pkg-config
      libonnx-dev libprotobuf-dev protobuf-compiler libcli11-dev nlohmann-json3-dev
      libgtest-dev libgmock-dev libbenchmark-dev libonnx-testdata
      python3-onnx python3-numpy clang libclang-rt-14-dev
      libcpp-httplib-dev libyaml-cpp-dev libmosquitto-dev mosquitto mosquitto-clients libsqlite3-dev)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# Node.js (for the ONNX Runtime peer in tests and benchmarks): Debian's, unless one is present.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
if [ "${EDGEAI_SKIP_DEMO:-0}" != 1 ]; then ./build/bin/edgeai demo; fi
