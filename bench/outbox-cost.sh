#!/usr/bin/env bash
# The cost of the webhook outbox on runs/s (issue 9), on SQLite: BENCH_ROUNDS (4)
# alternating rounds of async runs/s (bench-stream runs, 32 in flight, BENCH_DURATION 8 s)
# with no endpoint, then with one disabled endpoint subscribed to everything (every run's
# ending then writes its event and a held delivery in the ending's transaction, and
# nothing is sent). Uses target/release (cargo build --release -p orchstack -p bench-stream).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
KEY=os_live_benchbenchbenchbenchbench0001
# The server's rate limiter stays on (every request is checked and charged) with a budget
# for the bootstrap organisation (Enterprise) that no run here reaches: a 429 would end
# the run. What the limiter costs is bench/ratelimit.sh's.
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE=${ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE:-100000000}
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST=${ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST:-10000000}
LISTEN=${BENCH_API_LISTEN:-127.0.0.1:8097}
API="http://$LISTEN"
ROUNDS=${BENCH_ROUNDS:-4}
DURATION=${BENCH_DURATION:-8}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/orchstack-outbox.XXXXXX")
DATABASE_URL="sqlite://$TMP/bench.db?mode=rwc" ORCHSTACK_LISTEN=$LISTEN ORCHSTACK_BOOTSTRAP_KEY=$KEY \
  RUST_LOG=warn ORCHSTACK_OUTBOUND__ALLOW='["127.0.0.1"]' "$BIN/orchstack" serve >"$TMP/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
until curl -sf -o /dev/null "$API/readyz"; do sleep 0.1; done
auth=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
AGENT=$(curl -s "${auth[@]}" -X POST "$API/v1/agents" -d '{"name":"outbox","model":"mock/echo"}' | jq -er .id)
runs() { "$BIN/bench-stream" runs --base "$API" --key "$KEY" --agent "$AGENT" --mode async \
  --concurrency 32 --duration "$DURATION" 2>/dev/null | jq .runs_per_s; }
echo "| round | runs/s, no endpoint | runs/s, outbox rows written |"
echo "|---|---:|---:|"
for r in $(seq 1 "$ROUNDS"); do
  without=$(runs)
  wh=$(curl -s "${auth[@]}" -X POST "$API/v1/webhooks" \
    -d '{"url":"http://127.0.0.1:9/hook","events":["*"],"enabled":false}' | jq -er .id)
  with=$(runs)
  curl -s "${auth[@]}" -X DELETE "$API/v1/webhooks/$wh" >/dev/null
  echo "| $r | $without | $with |"
done
