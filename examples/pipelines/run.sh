#!/usr/bin/env bash
# Runs one example pipeline: examples/pipelines/run.sh vad|digits|sensor_anomaly
# Starts a private mosquitto broker on a free loopback port unless MQTT_PORT is set, shows what
# arrives on edgeai/# with mosquitto_sub, converts the story model for sensor_anomaly, and runs
# `edgeai pipeline run --fresh` (replay from the start). EDGEAI=path/to/edgeai overrides the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
name=${1:?usage: run.sh vad|digits|sensor_anomaly}
EDGEAI=${EDGEAI:-$root/build/bin/edgeai}
export EDGEAI_OUTBOX_DIR=${EDGEAI_OUTBOX_DIR:-/tmp/edgeai_examples}
mkdir -p "$EDGEAI_OUTBOX_DIR"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
if [ -z "${MQTT_PORT:-}" ]; then
  MQTT_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export MQTT_PORT
  printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$MQTT_PORT" > "$EDGEAI_OUTBOX_DIR/mosquitto.conf"
  "${MOSQUITTO:-/usr/sbin/mosquitto}" -c "$EDGEAI_OUTBOX_DIR/mosquitto.conf" 2>/dev/null &
  pids+=($!)
  sleep 0.5
fi
if command -v mosquitto_sub >/dev/null; then
  mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'edgeai/#' -v > >(sed -u 's/^/  mqtt> /') &
  pids+=($!)
fi
if [ "$name" = sensor_anomaly ] && [ -z "${STORY_GGUF:-}" ] && [ ! -f /tmp/edgeai_examples/stories260K.gguf ]; then
  slm=${EDGEAI_SLM_DIR:-$root/../shared/data/slm}
  mkdir -p /tmp/edgeai_examples
  "$EDGEAI" convert "$slm/stories260K.bin" --tokenizer "$slm/tok512.bin" /tmp/edgeai_examples/stories260K.gguf >/dev/null
fi
"$EDGEAI" pipeline validate "$here/$name.yaml"
"$EDGEAI" pipeline run "$here/$name.yaml" --fresh --status-interval 2
sleep 0.5  # let mosquitto_sub print the last messages
