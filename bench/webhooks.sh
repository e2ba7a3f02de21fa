#!/usr/bin/env bash
# OrchStack webhook delivery benchmark (issue 9), on SQLite. See bench/README.md.
#
#   bench/webhooks.sh > report.md
#
# 1. deliveries/s: BENCH_WEBHOOK_EVENTS (10000) due deliveries to one endpoint, written
#    while delivery was off, drained by one instance to a receiver that answers at once;
# 2. the same burst with the receiver failing 30% of attempts at random: every event
#    delivered, none under two ids;
# 3. runs/s (async, mock provider) without and with a subscribed endpoint, two rounds
#    alternating, and p50/p99 commit → first attempt while runs flow.
#
# Knobs (env): BENCH_WEBHOOK_EVENTS (10000), BENCH_DURATION (10 s per runs measurement),
# BENCH_RUN_CONCURRENCY (32), BENCH_API_LISTEN (127.0.0.1:8095), BENCH_RECEIVER_LISTEN
# (127.0.0.1:8096), BENCH_SKIP_BUILD (1 = use target/release), BENCH_KEEP_TMP (1).
# Progress goes to stderr; the report (markdown) to stdout. Talks to 127.0.0.1 only.
set -euo pipefail

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
EVENTS=${BENCH_WEBHOOK_EVENTS:-10000}
DURATION=${BENCH_DURATION:-10}
CONC=${BENCH_RUN_CONCURRENCY:-32}
API_LISTEN=${BENCH_API_LISTEN:-127.0.0.1:8095}
RECV=${BENCH_RECEIVER_LISTEN:-127.0.0.1:8096}
KEY=os_live_benchbenchbenchbenchbench0001
# The server's rate limiter stays on (every request is checked and charged) with a budget
# for the bootstrap organisation (Enterprise) that no run here reaches: a 429 would end
# the run. What the limiter costs is bench/ratelimit.sh's.
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE=${ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE:-100000000}
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST=${ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST:-10000000}
API="http://$API_LISTEN"
for a in "$API_LISTEN" "$RECV"; do case "$a" in 127.0.0.1:*) ;; *) die "$a: 127.0.0.1 only" ;; esac; done
[[ $EVENTS =~ ^[0-9]+$ ]] || die "BENCH_WEBHOOK_EVENTS must be a number"
command -v curl >/dev/null || die "curl is required"
for tool in sqlite3 jq; do # Debian packages of the same names
  command -v "$tool" >/dev/null && continue
  log "installing $tool"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  { $SUDO apt-get install -y "$tool" >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq && $SUDO apt-get install -y "$tool" >/dev/null; }; } \
    || die "could not install $tool"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/orchstack-webhooks.XXXXXX")
DB="$TMP/bench.db"
SERVER_PID=""
RECV_PID=""
stop_server() {
  local pid=$SERVER_PID
  SERVER_PID=""
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_server
  [[ -z $RECV_PID ]] || kill "$RECV_PID" 2>/dev/null || true
  if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release -p orchstack -p bench-stream"
  cargo build --release -p orchstack -p bench-stream >&2
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
ORCHSTACK_BIN=$TARGET_DIR/release/orchstack
BENCH_BIN=$TARGET_DIR/release/bench-stream

cat >"$TMP/orchstack.toml" <<TOML
[outbound]
allow = ["127.0.0.1"]

[webhooks]
schedule = ["100ms", "200ms", "500ms", "1s", "2s", "2s", "2s", "2s", "2s", "2s"]
TOML

start_server() { # webhooks enabled: true|false
  env DATABASE_URL="sqlite://$DB?mode=rwc" ORCHSTACK_LISTEN="$API_LISTEN" \
    ORCHSTACK_BOOTSTRAP_KEY="$KEY" ORCHSTACK_CONFIG="$TMP/orchstack.toml" RUST_LOG=warn \
    ORCHSTACK_WEBHOOKS__ENABLED="$1" "$ORCHSTACK_BIN" serve >>"$TMP/orchstack.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 30))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$API/readyz" || true) == 200 ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "orchstack exited (see $TMP/orchstack.log)"
    ((SECONDS < deadline)) || die "orchstack not ready"
    sleep 0.1
  done
}
sql() { sqlite3 -cmd '.timeout 10000' "$DB" "$@"; }
receiver() { # out-name args...
  local name=$1
  shift
  "$BENCH_BIN" webhooks-receiver --listen "$RECV" "$@" >"$TMP/$name.json" 2>>"$TMP/receiver.log" &
  RECV_PID=$!
  sleep 0.3
}
wait_receiver() { wait "$RECV_PID" || die "the receiver failed (see $TMP/receiver.log)"; RECV_PID=""; }

# A database with the bootstrap organisation and one endpoint.
start_server false
stop_server
ORG=$(sql "SELECT id FROM organizations LIMIT 1")
SECRET="whsec_$(head -c 32 /dev/urandom | base64)"
NOW="strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"
sql "INSERT INTO webhook_endpoints (id, org_id, url, description, events, enabled, secret, created_at, updated_at)
     VALUES ('wh_bench', '$ORG', 'http://$RECV/hook', 'bench', '[\"*\"]', 1, '$SECRET', $NOW, $NOW)"

burst() { # tag: EVENTS events and their deliveries, due now
  sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $EVENTS)
       INSERT INTO webhook_events (id, org_id, type, payload, created_at)
       SELECT 'msg_bench_$1_' || i, '$ORG', 'webhook.test',
         json_object('type', 'webhook.test', 'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                     'data', json_object('n', '$1-' || i)), $NOW FROM n;
       INSERT INTO webhook_deliveries (id, event_id, endpoint_id, org_id, status, attempts, next_attempt_at, created_at)
       SELECT 'dlv_bench_' || substr(id, 11), id, 'wh_bench', '$ORG', 'pending', 0, $NOW, $NOW
       FROM webhook_events WHERE id LIKE 'msg_bench_$1_%';"
}

log "1. $EVENTS due deliveries, receiver answering 200 at once"
burst clean
receiver clean --expect "$EVENTS" --timeout 300
start_server true
wait_receiver
stop_server

log "2. $EVENTS due deliveries, receiver failing 30% of attempts"
burst flaky
receiver flaky --expect "$EVENTS" --fail 0.3 --timeout 600
start_server true
wait_receiver
stop_server
FLAKY_STATES=$(sql "SELECT status || ': ' || COUNT(*) FROM webhook_deliveries WHERE id LIKE 'dlv_bench_flaky%' GROUP BY status" | paste -sd, -)
FLAKY_ATTEMPTS=$(sql "SELECT COUNT(*) FROM webhook_attempts WHERE delivery_id LIKE 'dlv_bench_flaky%'")

log "3. runs/s without and with a subscribed endpoint ($CONC in flight, ${DURATION}s each)"
start_server true
AGENT=$(curl -s -X POST "$API/v1/agents" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"name": "bench-webhooks", "model": "mock/echo"}' | jq -er .id)
stop_server
runs() { # out-name concurrency
  "$BENCH_BIN" runs --base "$API" --key "$KEY" --agent "$AGENT" --mode async \
    --concurrency "$2" --duration "$DURATION" >"$TMP/$1.json" 2>>"$TMP/runs.log"
}
subscribe() { sql "UPDATE webhook_endpoints SET events = '$1' WHERE id = 'wh_bench'"; }
for round in 1 2; do
  log "   round $round: no endpoint subscribed"
  subscribe '[]'
  start_server true
  runs "without-$round" "$CONC"
  stop_server
  log "   round $round: one endpoint subscribed, delivery off (the outbox rows alone)"
  subscribe '["*"]'
  start_server false
  runs "outbox-$round" "$CONC"
  stop_server
  # What that left pending is not this measurement's.
  sql "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL WHERE status = 'pending'"
  log "   round $round: one endpoint subscribed, delivered to the receiver"
  start_server true
  receiver "sent-$round" --duration 600 --idle 3
  runs "with-$round" "$CONC"
  wait_receiver
  stop_server
done

LAT_CONC=${BENCH_LATENCY_CONCURRENCY:-4}
log "4. commit -> first attempt with the receiver up ($LAT_CONC runs in flight, ${DURATION}s)"
start_server true
receiver latency --duration 600 --idle 3
runs latency-runs "$LAT_CONC"
wait_receiver
stop_server

echo "# Webhook delivery benchmark (SQLite, $(nproc) cores, $(date -u +%Y-%m-%d))"
echo
echo "| measurement | result |"
echo "|---|---|"
echo "| deliveries/s, $EVENTS due, receiver answering at once | $(jq -r .deliveries_per_s "$TMP/clean.json") ($(jq -r .events_delivered "$TMP/clean.json") delivered in $(jq -r .seconds "$TMP/clean.json") s) |"
echo "| $EVENTS events, 30% of attempts failing | $(jq -r '"\(.events_delivered) delivered, \(.events_with_two_ids) under two ids, \(.requests) requests (\(.failed_on_purpose) failed), \(.events_delivered_twice) delivered twice"' "$TMP/flaky.json"); deliveries: $FLAKY_STATES; attempts logged: $FLAKY_ATTEMPTS |"
for round in 1 2; do
  echo "| round $round runs/s ($CONC in flight): no endpoint / subscribed, delivery off / subscribed, delivered | $(jq -r .runs_per_s "$TMP/without-$round.json") / $(jq -r .runs_per_s "$TMP/outbox-$round.json") / $(jq -r .runs_per_s "$TMP/with-$round.json") |"
done
echo "| commit → first attempt, $LAT_CONC runs in flight ($(jq -r .runs_per_s "$TMP/latency-runs.json") runs/s) | $(jq -c .commit_to_first_attempt_ms "$TMP/latency.json") |"
for round in 1 2; do
  echo "| commit → first attempt while round $round delivered ($CONC in flight) | $(jq -c .commit_to_first_attempt_ms "$TMP/sent-$round.json") |"
done
echo
echo "Commit → first attempt: the receiver's arrival time minus the payload's timestamp"
echo "(taken when the outbox row is written, in the ending's transaction), in ms."
