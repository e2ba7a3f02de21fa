#!/usr/bin/env bash
# OrchStack run benchmarks (DESIGN.md §8, issue 3). See bench/README.md.
#
#   bench/runs.sh                                  # SQLite in a fresh temp dir
#   bench/runs.sh postgres://u:p@127.0.0.1/orchstack_bench   # SQLite, then PostgreSQL
#   BENCH_DATABASE_URL=postgres://... bench/runs.sh
#
# Measures, on each database: completed runs/s with the mock provider (sync and async),
# one run streamed to BENCH_SUBSCRIBERS (1000) GraphQL-SSE subscribers (p99 append →
# client, server memory per idle subscriber), and the latency added between a fake
# OpenAI-compatible provider's first token and the client's first `token` event.
#
# Knobs (env): BENCH_DURATION (10, seconds per runs measurement), BENCH_WARMUP (1),
# BENCH_RUN_CONCURRENCY (32), BENCH_SUBSCRIBERS (1000), BENCH_FANOUT_TOKENS (100),
# BENCH_TOKEN_DELAY_MS (20), BENCH_FIRST_TOKEN_REPS (50), BENCH_FIRST_TOKEN_STAT (p50),
# BENCH_DRAIN_TIMEOUT (120, seconds the async measurement waits for the queue),
# BENCH_API_LISTEN (127.0.0.1:8092), BENCH_FAKE_PORT (8093), BENCH_PG_SCHEMA (fresh
# bench_runs_<time>, created and dropped with psql), BENCH_SKIP_BUILD (1 = use existing
# target/release), BENCH_KEEP_TMP (1 = keep logs and results), BENCH_STRICT (1 = exit 1
# when a target is missed). Any ORCHSTACK_* variable is passed through to the server.
#
# Progress goes to stderr; the report (markdown) goes to stdout.
set -euo pipefail

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DURATION=${BENCH_DURATION:-10}
DURATION=${DURATION%s}
WARMUP=${BENCH_WARMUP:-1}
WARMUP=${WARMUP%s}
CONC=${BENCH_RUN_CONCURRENCY:-32}
SUBS=${BENCH_SUBSCRIBERS:-1000} # one key holds them all: the stream caps are raised to fit
FANOUT_TOKENS=${BENCH_FANOUT_TOKENS:-100}
TOKEN_DELAY_MS=${BENCH_TOKEN_DELAY_MS:-20}
REPS=${BENCH_FIRST_TOKEN_REPS:-50}
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-120}
FT_STAT=${BENCH_FIRST_TOKEN_STAT:-p50}
API_LISTEN=${BENCH_API_LISTEN:-127.0.0.1:8092}
FAKE_PORT=${BENCH_FAKE_PORT:-8093}
KEY=${ORCHSTACK_BOOTSTRAP_KEY:-os_live_benchbenchbenchbenchbench0001}
# The server's rate limiter stays on (every request is checked and charged) with a budget
# for the bootstrap organisation (Enterprise) that no run here reaches: a 429 would end
# the run. What the limiter costs is bench/ratelimit.sh's.
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE=${ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE:-100000000}
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST=${ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST:-10000000}
API="http://$API_LISTEN"
PG_URL=${1:-${BENCH_DATABASE_URL:-}}

case "$API_LISTEN" in 127.0.0.1:*) ;; *) die "BENCH_API_LISTEN must be a 127.0.0.1 address" ;; esac
[[ $FAKE_PORT =~ ^[0-9]+$ ]] || die "BENCH_FAKE_PORT must be a port number"
[[ $FT_STAT =~ ^(p50|p90|p99)$ ]] || die "BENCH_FIRST_TOKEN_STAT must be p50, p90 or p99"
for n in "$DURATION" "$WARMUP" "$DRAIN_TIMEOUT"; do [[ $n =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "bad duration: $n"; done
case "$PG_URL" in
  "" | postgres:* | postgresql:*) ;;
  *) die "the optional argument must be a postgres:// URL (SQLite always runs)" ;;
esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/orchstack-runs.XXXXXX")
SERVER_PID=""
PG_SCHEMA=""

stop_server() {
  local pid=$SERVER_PID
  SERVER_PID=""
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    # the server lets in-flight runs finish (worker.shutdown_grace); do not wait long
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  stop_server
  if [[ -n $PG_SCHEMA ]]; then
    psql "$PG_URL" -qAt -c "DROP SCHEMA IF EXISTS \"$PG_SCHEMA\" CASCADE" >/dev/null 2>&1 \
      || log "could not drop schema $PG_SCHEMA"
  fi
  if [[ $rc -ne 0 ]]; then
    for f in "$TMP"/*.log; do
      [[ -s $f ]] && { log "last lines of $f:"; tail -n 20 "$f" >&2; }
    done
  fi
  if [[ ${BENCH_KEEP_TMP:-0} == 1 || $rc -ne 0 ]]; then
    log "kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- tools
command -v curl >/dev/null 2>&1 || die "curl is required"
if ! command -v jq >/dev/null 2>&1; then
  log "installing jq"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get install -y jq >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq && $SUDO apt-get install -y jq >/dev/null; } \
    || die "could not install jq"
fi
if [[ -n $PG_URL ]]; then
  command -v psql >/dev/null 2>&1 || die "psql is required for the PostgreSQL run (fresh schema)"
fi

port_busy() { curl -s -o /dev/null --max-time 1 "$1/" 2>/dev/null; }
port_busy "$API" && die "something already listens on $API_LISTEN"
port_busy "http://127.0.0.1:$FAKE_PORT" && die "something already listens on 127.0.0.1:$FAKE_PORT"

# 1,000 subscribers need more than 1,024 descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= SUBS + 256)) || log "warning: ulimit -n is $(ulimit -n); $SUBS subscribers may not fit"

# ---------------------------------------------------------------- build
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release -p orchstack -p bench-stream"
  cargo build --release -p orchstack -p bench-stream >&2
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
ORCHSTACK_BIN=$TARGET_DIR/release/orchstack
BENCH_BIN=$TARGET_DIR/release/bench-stream
[[ -x $ORCHSTACK_BIN ]] || die "missing $ORCHSTACK_BIN"
[[ -x $BENCH_BIN ]] || die "missing $BENCH_BIN"

# ---------------------------------------------------------------- helpers
start_server() { # db_url label [extra env...]
  local url=$1 label=$2
  shift 2
  log "starting orchstack on $API_LISTEN ($label)"
  env "$@" DATABASE_URL="$url" ORCHSTACK_LISTEN="$API_LISTEN" ORCHSTACK_BOOTSTRAP_KEY="$KEY" \
    RUST_LOG=warn ORCHSTACK_PROVIDERS__FAKE__KIND=openai \
    ORCHSTACK_PROVIDERS__FAKE__BASE_URL="http://127.0.0.1:$FAKE_PORT/v1" \
    ORCHSTACK_STREAMS__MAX_PER_KEY="${ORCHSTACK_STREAMS__MAX_PER_KEY:-$((SUBS + 16))}" \
    ORCHSTACK_STREAMS__MAX_PER_ORG="${ORCHSTACK_STREAMS__MAX_PER_ORG:-$((SUBS + 16))}" \
    "$ORCHSTACK_BIN" serve >"$TMP/orchstack-$label.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + ${BENCH_READY_TIMEOUT:-30}))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$API/readyz" || true) == 200 ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "orchstack exited before it was ready"
    ((SECONDS < deadline)) || die "orchstack not ready after ${BENCH_READY_TIMEOUT:-30}s"
    sleep 0.1
  done
}

create_agent() { # name model settings-json -> id
  local body out code
  body=$(jq -cn --arg n "$1" --arg m "$2" --argjson s "$3" '{name: $n, model: $m, model_settings: $s}')
  out="$TMP/agent.json"
  code=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 -X POST "$API/v1/agents" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "$body" || true)
  [[ $code == 201 ]] || die "POST /v1/agents ($1) returned $code: $(head -c 400 "$out")"
  jq -er '.id' <"$out"
}

bench() { # label name args... : runs bench-stream, JSON result to $TMP/<label>-<name>.json
  local label=$1 name=$2
  shift 2
  local out="$TMP/$label-$name.json"
  if ! "$BENCH_BIN" "$@" --base "$API" --key "$KEY" >"$out" 2> >(tee "$TMP/$label-$name.log" >&2); then
    log "warning: $name on $label failed (see above)"
    echo '{"failed": true}' >"$out"
  fi
}

measure() { # label
  local label=$1 sync_agent async_agent fanout_agent
  sync_agent=$(create_agent bench-runs-sync mock/echo '{}')
  async_agent=$(create_agent bench-runs-async mock/echo '{}')
  fanout_agent=$(create_agent bench-fanout mock/echo "{\"token_delay_ms\": $TOKEN_DELAY_MS}")
  RSS_START[$label]=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")

  # async last: on a slow database it can leave a backlog that would delay the others
  log "[$label] runs, sync: $CONC workers × ${DURATION}s"
  bench "$label" sync runs --agent "$sync_agent" --mode sync --concurrency "$CONC" \
    --duration "$DURATION" --warmup "$WARMUP"
  sleep 1
  log "[$label] fan-out: $SUBS subscribers, $FANOUT_TOKENS tokens every ${TOKEN_DELAY_MS} ms"
  bench "$label" fanout fanout --agent "$fanout_agent" --subscribers "$SUBS" \
    --server-pid "$SERVER_PID" --tokens "$FANOUT_TOKENS"
  sleep 1
  log "[$label] first token: $REPS runs through the fake provider on 127.0.0.1:$FAKE_PORT"
  bench "$label" first-token first-token --fake-port "$FAKE_PORT" --reps "$REPS"
  sleep 1
  log "[$label] runs, async: $CONC posters × ${DURATION}s, then drain (at most ${DRAIN_TIMEOUT}s)"
  bench "$label" async runs --agent "$async_agent" --mode async --concurrency "$CONC" \
    --duration "$DURATION" --drain-timeout "$DRAIN_TIMEOUT"
  RSS_END[$label]=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
  grep -cE '"level":"(WARN|ERROR)"' "$TMP/orchstack-$label.log" >"$TMP/$label-errlines" 2>/dev/null || true
}

# ---------------------------------------------------------------- runs
declare -A RSS_START RSS_END
LABELS=(sqlite)
start_server "sqlite://$TMP/bench.db?mode=rwc" sqlite
measure sqlite
stop_server

if [[ -n $PG_URL ]]; then
  PG_SCHEMA=${BENCH_PG_SCHEMA:-bench_runs_$(date +%s)}
  [[ $PG_SCHEMA =~ ^[a-z0-9_]+$ ]] || die "BENCH_PG_SCHEMA must be lower-case letters, digits and _"
  if ! psql "$PG_URL" -qAt -c 'SELECT 1' >/dev/null 2>&1; then
    # A fresh machine has no bench database: create it through the maintenance database.
    PG_DB=${PG_URL##*/}
    PG_DB=${PG_DB%%\?*}
    [[ $PG_DB =~ ^[a-z0-9_]+$ ]] || die "cannot create database '$PG_DB' (lower-case letters, digits and _ only)"
    log "creating database $PG_DB"
    psql "${PG_URL%/*}/postgres" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$PG_DB\"" >/dev/null \
      || die "could not create database $PG_DB"
  fi
  psql "$PG_URL" -qAt -v ON_ERROR_STOP=1 -c "CREATE SCHEMA IF NOT EXISTS \"$PG_SCHEMA\"" >/dev/null \
    || die "could not create schema $PG_SCHEMA in $PG_URL"
  LABELS+=(postgres)
  start_server "$PG_URL" postgres ORCHSTACK_DATABASE_SCHEMA="$PG_SCHEMA"
  measure postgres
  stop_server
fi

# ---------------------------------------------------------------- report
j() { jq -r "$1 // \"n/a\"" "$TMP/$2.json"; }
cmp() { # value op target -> PASS/FAIL
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    if (v == "n/a" || v == "") { print "FAIL"; exit }
    if (op == ">=") print (v + 0 >= t + 0) ? "PASS" : "FAIL"; else print (v + 0 <= t + 0) ? "PASS" : "FAIL" }'
}
FAILED=0
row() { # measurement db value target result notes
  printf '| %s | %s | %s | %s | %s | %s |\n' "$@"
  [[ $5 == FAIL ]] && FAILED=1
  return 0
}

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1)
{
  echo "### OrchStack run benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: ${CPU:-unknown CPU}, $(nproc) cores, $(uname -sr); commit $REV${DIRTY:+ (dirty)};" \
    "runs: $CONC clients × ${DURATION}s (mock/echo, 3 tokens); fan-out: $SUBS GraphQL-SSE subscribers," \
    "$FANOUT_TOKENS tokens every $TOKEN_DELAY_MS ms; first token: $REPS runs (fake provider, REST SSE);" \
    "load generator and server share the machine."
  echo
  echo "| measurement | database | value | target | result | notes |"
  echo "|---|---|---:|---|---|---|"
  for label in "${LABELS[@]}"; do
    # runs
    for mode in sync async; do
      f=$label-$mode
      v=$(j .runs_per_s "$f")
      errs=$(j .errors "$f")
      if [[ $label == sqlite ]]; then
        target=">= 1000"
        res=$(cmp "$v" ">=" 1000)
      else
        target="(information)"
        res=""
      fi
      [[ $(j .failed "$f") == true ]] && res=FAIL
      if [[ $mode == sync ]]; then
        notes="$(j .completed "$f") completed, latency p50 $(j .latency_ms.p50 "$f") / p99 $(j .latency_ms.p99 "$f") ms, $errs errors"
      else
        notes="$(j .accepted "$f") queued at $(j .post_per_s "$f")/s, last completed at +$(j .last_completion_s "$f") s, $errs errors"
      fi
      [[ $errs != 0 && $errs != n/a ]] && notes="$notes (**errors: $(jq -c '.error_kinds // .post_errors' "$TMP/$f.json") $(jq -c '.not_completed // {}' "$TMP/$f.json")**)"
      row "completed runs/s, $mode" "$label" "$v" "$target" "$res" "$notes"
    done
    # fan-out
    f=$label-fanout
    p99=$(j .latency_ms.p99 "$f")
    complete=$(j .complete_subscribers "$f")
    res=$(cmp "$p99" "<=" 50)
    [[ $complete != "$SUBS" ]] && res=FAIL
    notes="$complete/$SUBS subscribers got all $(j .events_expected "$f") events; p50 $(j .latency_ms.p50 "$f"), max $(j .latency_ms.max "$f") ms over $(j .latency_ms.n "$f") deliveries; CPU while streaming $(j .run_s "$f") s: server $(j .cpu_s_while_streaming.server "$f") s, client $(j .cpu_s_while_streaming.client "$f") s"
    [[ $(j .errors "$f") != 0 ]] && notes="$notes (**errors: $(jq -c '.error_kinds // {}' "$TMP/$f.json")**)"
    row "fan-out p99 append → client (ms)" "$label" "$p99" "<= 50" "$res" "$notes"
    kib=$(j .kib_per_idle_subscriber "$f")
    res=$(cmp "$kib" "<=" 64)
    notes="server RSS $(j .rss_kib.before "$f") → $(j .rss_kib.idle "$f") KiB with $SUBS idle subscribers ($(j .rss_kib.after_run "$f") KiB after the run)"
    row "server memory per idle subscriber (KiB)" "$label" "$kib" "<= 64" "$res" "$notes"
    # first token
    f=$label-first-token
    v=$(j ".added_ms.$FT_STAT" "$f")
    res=$(cmp "$v" "<=" 5)
    [[ $(j .errors "$f") != 0 ]] && res=FAIL
    notes="p50 $(j .added_ms.p50 "$f"), p99 $(j .added_ms.p99 "$f"), max $(j .added_ms.max "$f") ms over $(j .added_ms.n "$f") runs, $(j .errors "$f") errors"
    row "added latency to first token, $FT_STAT (ms)" "$label" "$v" "<= 5" "$res" "$notes"
  done
  echo
  for label in "${LABELS[@]}"; do
    errlines=$(cat "$TMP/$label-errlines" 2>/dev/null || echo 0)
    echo "Server ($label): RSS ${RSS_START[$label]:-?} KiB after start-up, ${RSS_END[$label]:-?} KiB at the end;" \
      "${errlines:-0} WARN/ERROR lines in its log."
  done
}

if [[ ${BENCH_STRICT:-0} == 1 && $FAILED == 1 ]]; then
  exit 1
fi
