#!/usr/bin/env bash
# Runs the ONNX backend node suite and fails when fewer cases pass than the recorded floor.
# Usage: check_conformance.sh EDGEAI_CLI SUITE_DIR FLOOR_FILE
set -u
cli=$1 suite=$2 floor_file=$3
floor=$(tr -dc '0-9' < "$floor_file")
# EDGEAI_CONFORMANCE_ARGS adds onnx-test options (e.g. --reference).
out=$("$cli" onnx-test "$suite" --json "${TMPDIR:-/tmp}/edgeai_conformance.json" ${EDGEAI_CONFORMANCE_ARGS:-})
echo "$out" | tail -n 60
line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
passed=${line%% passed*}
if [ -z "$passed" ]; then echo "conformance: no summary line"; exit 1; fi
if [ "$passed" -lt "$floor" ]; then
  echo "conformance: $passed cases passed, fewer than the floor of $floor"
  exit 1
fi
echo "conformance: $passed cases passed (floor $floor)"
