#!/usr/bin/env bash
# Soak test of `edgeai pipeline`: RATE events/s of small sensor frames (64 values, synthetic) through
# normalize -> a small MLP (64 -> 32 -> 10, bench/make_soak_model.py) -> argmax, published to a
# real mosquitto broker with QoS 1 through the SQLite outbox, for SECONDS seconds; a mosquitto_sub
# counts what arrives. Prints the pipeline's report: events/s in, rows delivered, end-to-end latency
# (read -> PUBACK) p50/p99, time per stage.
# Usage: bench/pipeline_soak.sh [EDGEAI_BINARY] [RATE=10000] [SECONDS=60]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
EDGEAI=$(realpath "${1:-$root/build/bin/edgeai}")
RATE=${2:-10000}
SECS=${3:-60}
WORK=$(mktemp -d /tmp/edgeai_soak.XXXXXX)
chmod 755 "$WORK"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n' "$PORT" > "$WORK/mosquitto.conf"
"${MOSQUITTO:-/usr/sbin/mosquitto}" -c "$WORK/mosquitto.conf" 2>"$WORK/broker.log" &
PIDS+=($!)
for _ in $(seq 50); do mosquitto_pub -h 127.0.0.1 -p "$PORT" -t ping -m x 2>/dev/null && break; sleep 0.1; done
mosquitto_sub -h 127.0.0.1 -p "$PORT" -t 'edgeai/soak/#' -q 1 > "$WORK/seen.txt" &
PIDS+=($!)
sleep 0.3
python3 "$root/bench/make_soak_model.py" "$WORK/mlp.onnx"
cat > "$WORK/soak.yaml" <<CONF
name: soak
batch: 512
max_values: 0
sources:
  - {type: synthetic, name: sensor, rate: $RATE, channels: 64, count: $((RATE * SECS)), period: 50, noise: 0.2}
stages:
  - {type: normalize, mode: zscore, mean: 0, std: 2}
  - {type: model, name: mlp, model: $WORK/mlp.onnx}
  - {type: argmax, labels: [zero, one, two, three, four, five, six, seven, eight, nine]}
actions:
  - {type: mqtt, port: $PORT, topic: edgeai/soak/out, max_inflight: 2000}
outbox: {path: $WORK/soak.outbox.db}
CONF
echo "pipeline_soak: $RATE events/s for $SECS s, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
TIMEFORMAT='%U %S'
{ time timeout $((SECS + 60)) "$EDGEAI" pipeline run "$WORK/soak.yaml" --status-interval 10 --report "$WORK/report.json" 2>&1; } 2>"$WORK/cpu.txt"
rc=$?
read -r user sys < <(tail -n 1 "$WORK/cpu.txt")
echo "pipeline_soak: pipeline CPU time user $user s + sys $sys s = $(python3 -c "print('%.1f us per event' % (($user + $sys) * 1e6 / ($RATE * $SECS)))")"
sleep 1
echo "pipeline_soak: exit $rc; the subscriber received $(wc -l < "$WORK/seen.txt") messages"
cat "$WORK/report.json"
