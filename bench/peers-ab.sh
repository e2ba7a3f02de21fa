#!/usr/bin/env bash
# Before/after one change, on the databases `bench/peers.sh` seeded (issue 11): runs the
# given cases of the shared harness's bench.sh against binary A, then B, then A, then B
# (so drift on the machine hits both alike), each on the same seeded database.
#
#   bench/peers-ab.sh OLD_BINARY NEW_BINARY pg|sqlite CASE...
#   cases: rest-agent gql-agent runs50 rest-runs50 run-sync run-sync-c1
#   e.g. git stash; cargo build --release; cp target/release/orchstack /tmp/old; git stash pop
#        cargo build --release; bench/peers-ab.sh /tmp/old target/release/orchstack pg runs50
#
# Needs a previous `bench/peers.sh` (it leaves database orchstack_cmp and the SQLite file
# and agent ids under STATE_DIR, /tmp/bench-servers). Knobs: DURATION (6s), WARMUP (2s),
# PEERS_DIR (../shared/peers), ROUNDS (2). Prints one RESULT line per run (label, req/s,
# p50, p90, p99, max ms, requests, non-2xx, socket errors).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
P=${PEERS_DIR:-$ROOT/../shared/peers}
state=${STATE_DIR:-/tmp/bench-servers}
a=$(realpath "${1:?OLD_BINARY}"); b=$(realpath "${2:?NEW_BINARY}"); db=${3:?pg|sqlite}; shift 3
key="os_live_comparebenchkey00000000000001"
if [ "$db" = pg ]; then url="postgres://postgres@127.0.0.1:5432/orchstack_cmp"; port=8095; ids=$state/os-pg.ids
else url="sqlite://$state/os-sqlite/o.db?mode=rwc"; port=8096; ids=$state/os-sqlite.ids; fi
[ -s "$ids" ] || { echo "no seeded ids at $ids: run bench/peers.sh first" >&2; exit 2; }
# The bootstrap organisation's budget, out of reach (as bench/peers.sh sets it).
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE=100000000 ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST=10000000
export BENCH_AUTH="Bearer $key" BENCH_IDS_FILE=$ids RESULTS=${RESULTS:-$(mktemp)} DURATION=${DURATION:-6s} WARMUP=${WARMUP:-2s}
base=http://127.0.0.1:$port
one() { # binary cases...
  local bin=$1; shift
  (cd "$state" && ORCHSTACK_LISTEN=127.0.0.1:$port DATABASE_URL="$url" ORCHSTACK_BOOTSTRAP_KEY="$key" \
     ORCHSTACK_LOG__LEVEL=warn exec "$bin" serve >"$state/ab-server.log" 2>&1) &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done
  for c in "$@"; do
    case $c in
      rest-agent) "$P/bench.sh" "os-$db-rest-agent" GET "$base/v1/agents/{{agent_id}}" ;;
      gql-agent) "$P/bench.sh" "os-$db-gql-agent" POST "$base/graphql" "$P/bodies/os_agent_by_id.json" ;;
      runs50) "$P/bench.sh" "os-$db-gql-runs50-with-agent" POST "$base/graphql" "$P/bodies/os_runs50_with_agent.json" ;;
      rest-runs50) "$P/bench.sh" "os-$db-rest-runs50" GET "$base/v1/runs?limit=50" ;;
      run-sync) "$P/bench.sh" "os-$db-run-sync" POST "$base/v1/agents/{{agent_id}}/run" "$P/bodies/os_run_sync.json" ;;
      run-sync-c1) THREADS=1 CONNS=1 "$P/bench.sh" "os-$db-run-sync-c1" POST "$base/v1/agents/{{agent_id}}/run" "$P/bodies/os_run_sync.json" ;;
      *) echo "unknown case $c" >&2 ;;
    esac 2>&1 | grep '^RESULT' | sed "s|^RESULT|$(basename "$(dirname "$bin")")/$(basename "$bin")|"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for _ in $(seq 1 "${ROUNDS:-2}"); do one "$a" "$@"; one "$b" "$@"; done
