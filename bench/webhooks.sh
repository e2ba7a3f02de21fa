#!/usr/bin/env bash
# OrchStack webhook benchmarks (issue 9, DESIGN.md §8). See bench/README.md.
#
#   bench/webhooks.sh            # SQLite, a fresh database per phase, in a temp dir
#
# Phases:
#   1. throughput: BENCH_EVENTS (10000) runs make as many `agent.run.completed` events
#      while the delivery workers are off; then the server restarts with them on and a
#      local receiver that answers 200 at once measures deliveries/s (first request →
#      last distinct event accepted). Every signature is verified.
#   2. burst: the same with a receiver failing 30% of attempts at random (a short retry
#      schedule): every event must be accepted, never under two ids.
#   3. live: BENCH_ROUNDS (3) alternating rounds of async runs/s without an endpoint and
#      with one subscribed (its receiver up), and the latency from each event's commit
#      (its payload `timestamp`) to its first attempt.
#
# Knobs (env): BENCH_EVENTS, BENCH_FAIL_RATE (0.3), BENCH_DURATION (10 s per live
# measurement), BENCH_ROUNDS, BENCH_RUN_CONCURRENCY (32), BENCH_API_LISTEN
# (127.0.0.1:8094), BENCH_RECEIVER_PORT (8095), BENCH_SKIP_BUILD (1 = use target/release),
# BENCH_KEEP_TMP (1 = keep logs). ORCHSTACK_* variables are passed to the server.
# Progress goes to stderr; the report (markdown) to stdout.
set -euo pipefail

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

EVENTS=${BENCH_EVENTS:-10000}
FAIL_RATE=${BENCH_FAIL_RATE:-0.3}
DURATION=${BENCH_DURATION:-10}
DURATION=${DURATION%s}
ROUNDS=${BENCH_ROUNDS:-3}
CONC=${BENCH_RUN_CONCURRENCY:-32}
API_LISTEN=${BENCH_API_LISTEN:-127.0.0.1:8094}
PORT=${BENCH_RECEIVER_PORT:-8095}
KEY=${ORCHSTACK_BOOTSTRAP_KEY:-os_live_benchbenchbenchbenchbench0001}
API="http://$API_LISTEN"
case "$API_LISTEN" in 127.0.0.1:*) ;; *) die "BENCH_API_LISTEN must be a 127.0.0.1 address" ;; esac
for n in "$EVENTS" "$ROUNDS" "$CONC" "$PORT"; do [[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/orchstack-webhooks.XXXXXX")
SERVER_PID=""
RECEIVER_PID=""

stop_pid() {
  local pid=$1
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  stop_pid "$SERVER_PID"
  stop_pid "$RECEIVER_PID"
  if [[ $rc -ne 0 ]]; then
    for f in "$TMP"/*.log; do [[ -s $f ]] && { log "last lines of $f:"; tail -n 20 "$f" >&2; }; done
  fi
  if [[ ${BENCH_KEEP_TMP:-0} == 1 || $rc -ne 0 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v curl >/dev/null 2>&1 || die "curl is required"
command -v jq >/dev/null 2>&1 || die "jq is required (apt-get install jq)"

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release -p orchstack -p bench-stream"
  cargo build --release -p orchstack -p bench-stream >&2
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
ORCHSTACK_BIN=$TARGET_DIR/release/orchstack
BENCH_BIN=$TARGET_DIR/release/bench-stream
[[ -x $ORCHSTACK_BIN && -x $BENCH_BIN ]] || die "missing release binaries in $TARGET_DIR/release"

start_server() { # db label [env...]
  local db=$1 label=$2
  shift 2
  log "starting orchstack ($label)"
  env ORCHSTACK_OUTBOUND__ALLOW='["127.0.0.1"]' "$@" DATABASE_URL="$db" \
    ORCHSTACK_LISTEN="$API_LISTEN" ORCHSTACK_BOOTSTRAP_KEY="$KEY" RUST_LOG=warn \
    "$ORCHSTACK_BIN" serve >"$TMP/orchstack-$label.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 30))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$API/readyz" || true) == 200 ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "orchstack exited before it was ready"
    ((SECONDS < deadline)) || die "orchstack not ready after 30s"
    sleep 0.1
  done
}
stop_server() { stop_pid "$SERVER_PID"; SERVER_PID=""; }

# One outbox drain: produce with the workers off, then restart them against a receiver.
drain_phase() { # label fail-rate [server env...]
  local label=$1 rate=$2
  shift 2
  local db="sqlite://$TMP/$label.db?mode=rwc"
  start_server "$db" "$label-produce" ORCHSTACK_WEBHOOKS__ENABLED=false "$@"
  log "[$label] producing $EVENTS events with the delivery workers off"
  "$BENCH_BIN" webhooks-produce --base "$API" --key "$KEY" --port "$PORT" --events "$EVENTS" \
    --concurrency "$CONC" >"$TMP/$label-produce.json" 2>"$TMP/$label-produce.log"
  stop_server
  local secret
  secret=$(jq -er .secret "$TMP/$label-produce.json")
  "$BENCH_BIN" webhooks-receive --port "$PORT" --secret "$secret" --expect "$EVENTS" \
    --fail-rate "$rate" >"$TMP/$label.json" 2>"$TMP/$label-receive.log" &
  RECEIVER_PID=$!
  sleep 0.3
  log "[$label] delivering (fail rate $rate)"
  start_server "$db" "$label-deliver" "$@"
  wait "$RECEIVER_PID" || die "the receiver failed (see $TMP/$label-receive.log)"
  RECEIVER_PID=""
  stop_server
}

drain_phase throughput 0
drain_phase burst "$FAIL_RATE" ORCHSTACK_WEBHOOKS__JITTER=0.2 \
  ORCHSTACK_WEBHOOKS__SCHEDULE='["100ms","200ms","400ms","800ms","1s","2s","2s","2s","2s","2s","2s","2s"]'

start_server "sqlite://$TMP/live.db?mode=rwc" live
AGENT=$(curl -s -X POST "$API/v1/agents" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"name":"bench-wh","model":"mock/echo"}' | jq -er .id)
for r in $(seq 1 "$ROUNDS"); do
  log "[live] round $r: async runs without an endpoint (${DURATION}s)"
  "$BENCH_BIN" runs --base "$API" --key "$KEY" --agent "$AGENT" --mode async --concurrency "$CONC" \
    --duration "$DURATION" >"$TMP/live-without-$r.json" 2>>"$TMP/live.log"
  sleep 1
  log "[live] round $r: async runs with a subscribed endpoint (${DURATION}s)"
  "$BENCH_BIN" webhooks-live --base "$API" --key "$KEY" --agent "$AGENT" --port "$PORT" \
    --concurrency "$CONC" --duration "$DURATION" >"$TMP/live-with-$r.json" 2>>"$TMP/live.log"
  sleep 1
done
stop_server

j() { jq -r "$1" "$2"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "## Webhook benchmarks ($(date -u +%Y-%m-%d), SQLite, $(nproc) cores)"
echo
echo "| phase | events | accepted | attempts | runs with two ids | bad signatures | deliveries/s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for p in throughput burst; do
  f="$TMP/$p.json"
  echo "| $p | $(j .expected "$f") | $(j .accepted "$f") | $(j .attempts "$f") | $(j .runs_with_two_ids "$f") | $(j .bad_signatures "$f") | $(j .deliveries_per_s "$f") |"
done
echo
echo "| round | runs/s without endpoint | runs/s with endpoint | delivered | commit → first attempt p50 / p99 ms |"
echo "|---|---:|---:|---:|---|"
for r in $(seq 1 "$ROUNDS"); do
  w="$TMP/live-with-$r.json"
  echo "| $r | $(j .runs_per_s "$TMP/live-without-$r.json") | $(j .runs.runs_per_s "$w") | $(j .accepted "$w") / $(j .runs.completed "$w") | $(j .first_attempt_latency_ms.p50 "$w") / $(j .first_attempt_latency_ms.p99 "$w") |"
done
without=$(for r in $(seq 1 "$ROUNDS"); do j .runs_per_s "$TMP/live-without-$r.json"; done | median)
with=$(for r in $(seq 1 "$ROUNDS"); do j .runs.runs_per_s "$TMP/live-with-$r.json"; done | median)
echo
echo "Median runs/s: $without without, $with with an endpoint ($(awk -v a="$without" -v b="$with" 'BEGIN { printf "%+.1f%%", (b - a) / a * 100 }'))."
