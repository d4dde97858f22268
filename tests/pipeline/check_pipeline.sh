#!/usr/bin/env bash
# End-to-end checks of `edgeai pipeline` against a real mosquitto broker on a free loopback port:
#   1. events flow: file -> stages -> MQTT publish (QoS 1), seen by mosquitto_sub;
#   2. the broker is stopped for a while mid-stream and restarted: every event still arrives;
#   3. the pipeline is killed with SIGKILL mid-stream and restarted: no event is lost, and a
#      duplicate carries the same event id (and the same values);
#   4. an MQTT source (persistent session) feeding a file action; validate; /metrics; SIGTERM.
# Usage: check_pipeline.sh EDGEAI_BINARY
# Every wait has a deadline, and an EXIT trap kills the broker, the subscribers and the pipeline.
set -uo pipefail
EDGEAI=${1:?usage: check_pipeline.sh EDGEAI_BINARY}
EDGEAI=$(realpath "$EDGEAI")
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
command -v "$MOSQUITTO" >/dev/null 2>&1 || MOSQUITTO=$(command -v mosquitto || true)
for tool in "$MOSQUITTO" mosquitto_sub mosquitto_pub python3; do
  if [ -z "$tool" ] || ! command -v "$tool" >/dev/null 2>&1; then
    echo "check_pipeline: '$tool' is missing (apt-get install mosquitto mosquitto-clients python3)" >&2
    exit 1
  fi
done

WORK=$(mktemp -d /tmp/edgeai_pipeline_check.XXXXXX)
BROKER_PID="" SUB_PID="" PIPE_PID=""
cleanup() {
  for pid in $PIPE_PID $SUB_PID $BROKER_PID; do
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
  echo "check_pipeline: FAIL: $*" >&2
  for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.1
  done
}

PORT=$(free_port)
mkdir -p "$WORK/broker"
# Started as root, mosquitto drops to user mosquitto: let it write its persistence file.
chmod 755 "$WORK"
chmod 777 "$WORK/broker"
cat > "$WORK/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $WORK/broker/
autosave_interval 1
CONF
start_broker() {
  "$MOSQUITTO" -c "$WORK/mosquitto.conf" >>"$WORK/broker.log" 2>&1 &
  BROKER_PID=$!
  wait_for 10 mosquitto_pub -h 127.0.0.1 -p "$PORT" -t edgeai/ping -m x -q 1 2>/dev/null || fail "the broker did not start"
}
stop_broker() {
  kill -TERM "$BROKER_PID" 2>/dev/null
  wait "$BROKER_PID" 2>/dev/null
  BROKER_PID=""
}
# The observer: a persistent QoS 1 session, so that it misses nothing while it is away.
start_sub() {
  mosquitto_sub -h 127.0.0.1 -p "$PORT" -t "edgeai/test/#" -q 1 -c -i "observer-$$" >>"$WORK/seen.txt" 2>>"$WORK/sub.log" &
  SUB_PID=$!
  sleep 0.3
}
stop_sub() {
  kill -TERM "$SUB_PID" 2>/dev/null
  wait "$SUB_PID" 2>/dev/null
  SUB_PID=""
}
# pipeline CONFIG [args]: starts it in the background.
start_pipeline() {
  "$EDGEAI" pipeline run "$@" >>"$WORK/pipeline.log" 2>&1 &
  PIPE_PID=$!
}
# wait_pipeline SECONDS: waits for it to exit 0.
wait_pipeline() {
  local deadline=$((SECONDS + $1))
  while kill -0 "$PIPE_PID" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && fail "the pipeline did not finish in $1 s"
    sleep 0.1
  done
  wait "$PIPE_PID"
  local rc=$?
  PIPE_PID=""
  [ $rc -eq 0 ] || fail "the pipeline exited with $rc"
}
# make_input FILE N: lines {"values": [i]} for i in 0..N-1.
make_input() { python3 -c "import sys
with open(sys.argv[1], 'w') as f:
    for i in range(int(sys.argv[2])): f.write('{\"values\": [%d]}\n' % i)" "$1" "$2"; }
# check_seen FILE SOURCE N: every id SOURCE:0..N-1 is in FILE, and every line's id matches its value.
check_seen() {
  python3 - "$@" <<'PY' || fail "delivery check failed for $2"
import json, sys
path, src, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen, dups = {}, 0
for line in open(path):
    line = line.strip()
    if not line.startswith("{"): continue
    e = json.loads(line)
    if e.get("source") != src: continue
    k = int(e["id"].split(":")[1])
    assert e["id"] == "%s:%d" % (src, k), e
    assert e["values"] == [float(k)], ("id and payload disagree", e)
    if e["id"] in seen: dups += 1
    seen[e["id"]] = e
missing = [i for i in range(n) if "%s:%d" % (src, i) not in seen]
print("check_pipeline: %s: %d of %d events delivered, %d duplicates (same id, same values)" % (src, len(seen), n, dups))
if missing: sys.exit("missing %d events, first %s" % (len(missing), missing[:10]))
PY
}
write_config() {  # write_config NAME SOURCE_NAME N RATE
  cat > "$WORK/$1.yaml" <<CONF
name: $1
sources:
  - {type: file, name: $2, path: $2.jsonl, rate: $4}
stages:
  - {type: threshold, value: 0}
actions:
  - {type: mqtt, port: $PORT, topic: edgeai/test/$1}
  - {type: file, name: local, path: $1.out.jsonl}
delivery: {initial_backoff: 0.1, max_backoff: 1, ack_timeout: 3}
CONF
  make_input "$WORK/$2.jsonl" "$3"
}

start_broker
start_sub

echo "== 1. events flow end to end"
write_config flow a 200 400
"$EDGEAI" pipeline validate "$WORK/flow.yaml" >"$WORK/validate.log" 2>&1 || fail "validate rejected a good config"
start_pipeline "$WORK/flow.yaml" --metrics-port 0
wait_pipeline 60
wait_for 10 grep -q '"id":"a:199"' "$WORK/seen.txt" || fail "the last event never reached the subscriber"
check_seen "$WORK/seen.txt" a 200
check_seen "$WORK/flow.out.jsonl" a 200

echo "== 2. the broker stops mid-stream and comes back"
write_config restart b 600 150
start_pipeline "$WORK/restart.yaml" --status-interval 1
wait_for 20 grep -q '"id":"b:100"' "$WORK/seen.txt" || fail "no events before the broker stop"
stop_sub
stop_broker
sleep 2.5
kill -0 "$PIPE_PID" 2>/dev/null || fail "the pipeline exited while the broker was down"
start_broker
start_sub
wait_pipeline 90
wait_for 15 grep -q '"id":"b:599"' "$WORK/seen.txt" || fail "the last event never arrived after the restart"
check_seen "$WORK/seen.txt" b 600
grep -Eq "mqtt1 (waiting|retrying) \(not connected" "$WORK/pipeline.log" || fail "the status line never showed the action waiting for the broker"

echo "== 3. the pipeline is killed with SIGKILL mid-stream and restarted"
write_config kill c 600 150
start_pipeline "$WORK/kill.yaml"
wait_for 20 grep -q '"id":"c:150"' "$WORK/seen.txt" || fail "no events before the kill"
{ kill -9 "$PIPE_PID"; wait "$PIPE_PID"; } 2>/dev/null
PIPE_PID=""
start_pipeline "$WORK/kill.yaml"
wait_pipeline 90
wait_for 15 grep -q '"id":"c:599"' "$WORK/seen.txt" || fail "the last event never arrived after the restart"
check_seen "$WORK/seen.txt" c 600
check_seen "$WORK/kill.out.jsonl" c 600

echo "== 4. MQTT source with a persistent session, SIGTERM, validate errors"
cat > "$WORK/sub.yaml" <<CONF
name: subpipe
sources:
  - {type: mqtt, name: m, port: $PORT, topic: edgeai/in/#}
stages:
  - {type: moving_average, window: 2}
actions:
  - {type: file, path: sub.out.jsonl}
CONF
start_pipeline "$WORK/sub.yaml" --metrics-port 0
sleep 1
for i in $(seq 0 49); do echo "{\"values\": [$i], \"k\": $i}"; done |
  mosquitto_pub -h 127.0.0.1 -p "$PORT" -t edgeai/in/x -q 1 -l || fail "mosquitto_pub failed"
wait_for 20 bash -c "[ \$(wc -l < '$WORK/sub.out.jsonl' 2>/dev/null || echo 0) -ge 50 ]" ||
  fail "the MQTT source delivered $(wc -l < "$WORK/sub.out.jsonl" 2>/dev/null) of 50"
metrics_url=$(grep -o "http://127.0.0.1:[0-9]*/metrics" "$WORK/pipeline.log" | tail -n 1)
metrics_count_50() {
  python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('$metrics_url', timeout=5).read().decode())" \
    > "$WORK/metrics.txt" 2>/dev/null && grep -q 'edgeai_pipeline_events_in_total{source="m"} 50$' "$WORK/metrics.txt"
}
wait_for 5 metrics_count_50 ||
  fail "/metrics at $metrics_url does not count 50 events in: $(cat "$WORK/metrics.txt" 2>/dev/null | head -5)"
kill -TERM "$PIPE_PID"
wait_pipeline 15
grep -q '"k":49' "$WORK/sub.out.jsonl" || fail "message 49 missing"
# Messages published while the pipeline is down wait in its broker session.
for i in 50 51 52; do mosquitto_pub -h 127.0.0.1 -p "$PORT" -t edgeai/in/x -q 1 -m "{\"values\": [$i], \"k\": $i}"; done
start_pipeline "$WORK/sub.yaml"
wait_for 20 grep -q '"k":52' "$WORK/sub.out.jsonl" || fail "messages sent while the pipeline was down were lost"
kill -TERM "$PIPE_PID"
wait_pipeline 15

printf 'sources:\n  - {type: file, path: a.jsonl}\nstages:\n  - {type: window, size: 4, hopp: 2}\nactions:\n  - {type: log}\n' > "$WORK/bad.yaml"
if "$EDGEAI" pipeline validate "$WORK/bad.yaml" >"$WORK/bad.log" 2>&1; then fail "validate accepted a bad config"; fi
grep -q "bad.yaml:4:.*unknown key 'hopp'" "$WORK/bad.log" || fail "validate's error lacks the line: $(cat "$WORK/bad.log")"
grep -q "metrics on http://127.0.0.1:" "$WORK/pipeline.log" || fail "no metrics server line"
# The bundled digits example validates (the model and data ship with the repository).
"$EDGEAI" pipeline validate "$(dirname "$0")/../../examples/pipelines/digits.yaml" >"$WORK/example.log" 2>&1 ||
  fail "examples/pipelines/digits.yaml does not validate: $(cat "$WORK/example.log")"
echo "check_pipeline: all passed"
