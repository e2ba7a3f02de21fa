#!/usr/bin/env bash
# OrchStack REST vs GraphQL vs bare-axum benchmark (DESIGN.md §8). See bench/README.md.
#
#   bench/run.sh                      # SQLite in a fresh temp dir
#   bench/run.sh postgres://u:p@127.0.0.1/orchstack_bench
#   BENCH_DATABASE_URL=postgres://... bench/run.sh
#
# Knobs (env): BENCH_DURATION (10s), BENCH_WARMUP (2s, 0 to skip), BENCH_THREADS (2),
# BENCH_CONNECTIONS (32), BENCH_AGENTS (60), BENCH_API_LISTEN (127.0.0.1:8090),
# BENCH_BARE_LISTEN (127.0.0.1:8091), BENCH_SKIP_BUILD (1 = use existing target/release),
# BENCH_KEEP_TMP (1 = keep the temp dir with logs and the SQLite file),
# BENCH_STRICT (1 = exit 1 when a target is missed). Any ORCHSTACK_* variable in the
# environment is passed through to the server.
#
# Progress goes to stderr; the report (markdown) goes to stdout.
set -euo pipefail

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-32}
N_AGENTS=${BENCH_AGENTS:-60}
API_LISTEN=${BENCH_API_LISTEN:-127.0.0.1:8090}
BARE_LISTEN_ADDR=${BENCH_BARE_LISTEN:-127.0.0.1:8091}
KEY=${ORCHSTACK_BOOTSTRAP_KEY:-os_live_benchbenchbenchbenchbench0001}
# The server's rate limiter stays on (every request is checked and charged) with a budget
# for the bootstrap organisation (Enterprise) that no run here reaches: a 429 would end
# the run. What the limiter costs is bench/ratelimit.sh's.
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE=${ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE:-100000000}
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST=${ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST:-10000000}
AUTH="Authorization: Bearer $KEY"
API="http://$API_LISTEN"
BARE="http://$BARE_LISTEN_ADDR"

case "$API_LISTEN $BARE_LISTEN_ADDR" in
  127.0.0.1:*\ 127.0.0.1:*) ;;
  *) die "BENCH_API_LISTEN / BENCH_BARE_LISTEN must be 127.0.0.1 addresses" ;;
esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/orchstack-bench.XXXXXX")
DB_URL=${1:-${BENCH_DATABASE_URL:-sqlite://$TMP/bench.db?mode=rwc}}
case "$DB_URL" in
  sqlite:*) DB_KIND=sqlite ;;
  postgres:* | postgresql:*) DB_KIND=postgres ;;
  *) die "unsupported database URL: $DB_URL" ;;
esac

SERVER_PID=""
BARE_PID=""
cleanup() {
  local rc=$?
  for pid in $BARE_PID $SERVER_PID; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      # give it a moment to exit, then force
      for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    for f in "$TMP"/orchstack.log "$TMP"/bare.log; do
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
if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get install -y wrk >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq && $SUDO apt-get install -y wrk >/dev/null; } \
    || die "could not install wrk"
fi
command -v curl >/dev/null 2>&1 || die "curl is required"

port_busy() { curl -s -o /dev/null --max-time 1 "$1/" 2>/dev/null; }
port_busy "$API" && die "something already listens on $API_LISTEN"
port_busy "$BARE" && die "something already listens on $BARE_LISTEN_ADDR"

# ---------------------------------------------------------------- build
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release -p orchstack -p bench-bare"
  cargo build --release -p orchstack -p bench-bare >&2
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
ORCHSTACK_BIN=$TARGET_DIR/release/orchstack
BARE_BIN=$TARGET_DIR/release/bench-bare
[[ -x $ORCHSTACK_BIN ]] || die "missing $ORCHSTACK_BIN"
[[ -x $BARE_BIN ]] || die "missing $BARE_BIN"

# ---------------------------------------------------------------- server
log "starting orchstack on $API_LISTEN ($DB_KIND)"
DATABASE_URL="$DB_URL" ORCHSTACK_LISTEN="$API_LISTEN" ORCHSTACK_BOOTSTRAP_KEY="$KEY" RUST_LOG=warn \
  "$ORCHSTACK_BIN" serve >"$TMP/orchstack.log" 2>&1 &
SERVER_PID=$!

wait_ready() { # url pid name
  local deadline=$((SECONDS + ${BENCH_READY_TIMEOUT:-30}))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true) == 200 ]]; do
    kill -0 "$2" 2>/dev/null || die "$3 exited before it was ready"
    ((SECONDS < deadline)) || die "$3 not ready after ${BENCH_READY_TIMEOUT:-30}s ($1)"
    sleep 0.1
  done
}
wait_ready "$API/readyz" "$SERVER_PID" orchstack

# ---------------------------------------------------------------- data
json_id() { # first top-level-looking "id" value in a JSON document on stdin
  if command -v jq >/dev/null 2>&1; then
    jq -r '.id // empty'
  else
    grep -o '"id"[[:space:]]*:[[:space:]]*"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/'
  fi
}

log "creating $N_AGENTS agents"
IDS=()
for i in $(seq 1 "$N_AGENTS"); do
  body=$(printf '{"name":"bench-%d","model":"mock/echo","instructions":"You are a helpful agent."}' "$i")
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    code=$(curl -s -o "$TMP/create.json" -D "$TMP/create.hdr" -w '%{http_code}' --max-time 10 \
      -X POST "$API/v1/agents" -H "$AUTH" -H 'Content-Type: application/json' -d "$body" || true)
    if [[ $code == 429 ]]; then # rate limited: honour Retry-After (capped), then retry
      wait_s=$(grep -i '^retry-after:' "$TMP/create.hdr" | tr -dc '0-9' || true)
      sleep "$(( ${wait_s:-1} > 5 ? 5 : ${wait_s:-1} ))"
      continue
    fi
    break
  done
  [[ $code == 201 ]] || die "POST /v1/agents #$i returned $code: $(head -c 400 "$TMP/create.json")"
  id=$(json_id <"$TMP/create.json")
  [[ -n $id ]] || die "POST /v1/agents #$i: no id in $(head -c 400 "$TMP/create.json")"
  IDS+=("$id")
done
AGENT_ID=${IDS[$((N_AGENTS / 2))]}
log "single-GET target: $AGENT_ID"

# ---------------------------------------------------------------- bare handler
log "starting bench-bare on $BARE_LISTEN_ADDR"
DATABASE_URL="$DB_URL" BARE_LISTEN="$BARE_LISTEN_ADDR" "$BARE_BIN" >"$TMP/bare.log" 2>&1 &
BARE_PID=$!
wait_ready "$BARE/agents/$AGENT_ID" "$BARE_PID" bench-bare

# ---------------------------------------------------------------- request bodies
FIELDS='id name description model modelSettings instructions tools knowledgeIds channels metadata version createdAt updatedAt'
printf '{"query":"query($id: ID!) { agent(id: $id) { %s } }","variables":{"id":"%s"}}' \
  "$FIELDS" "$AGENT_ID" >"$TMP/gql-get.json"
printf '{"query":"{ agents(first: 50) { edges { node { %s } } pageInfo { hasNextPage endCursor } } }"}' \
  "$FIELDS" >"$TMP/gql-list.json"

# ---------------------------------------------------------------- rows
# name | method | url | body file (POST only) | expected "bench-" names in the response
ROWS=(
  "bare GET /agents/:id|GET|$BARE/agents/$AGENT_ID||1"
  "REST GET /v1/agents/:id|GET|$API/v1/agents/$AGENT_ID||1"
  "GraphQL agent(id)|POST|$API/graphql|$TMP/gql-get.json|1"
  "bare GET /agents?limit=50|GET|$BARE/agents?limit=50||50"
  "REST GET /v1/agents?limit=50|GET|$API/v1/agents?limit=50||50"
  "GraphQL agents(first: 50)|POST|$API/graphql|$TMP/gql-list.json|50"
)

preflight() { # name method url bodyfile expected
  local out="$TMP/preflight.json" code n
  if [[ $2 == POST ]]; then
    code=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 -X POST "$3" -H "$AUTH" \
      -H 'Content-Type: application/json' -H 'Accept: application/json' --data-binary "@$4" || true)
  else
    code=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 "$3" -H "$AUTH" || true)
  fi
  [[ $code == 200 ]] || die "$1: preflight returned $code: $(head -c 400 "$out")"
  if [[ $2 == POST ]] && grep -q '"errors"' "$out"; then
    die "$1: GraphQL errors: $(head -c 400 "$out")"
  fi
  n=$(grep -o '"bench-[0-9]*"' "$out" | wc -l | tr -d ' ')
  if ((n < $5)); then
    die "$1: expected $5 agents in the response, found $n: $(head -c 400 "$out")"
  fi
  ((n == $5)) || log "warning: $1 returned $n agents, expected $5"
}

run_wrk() { # duration method url bodyfile outfile
  local args=(-t"$THREADS" -c"$CONNS" -d"$1" --latency --timeout 5s -H "$AUTH")
  if [[ $2 == POST ]]; then
    WRK_BODY_FILE="$4" wrk "${args[@]}" -s "$ROOT/bench/post.lua" "$3" >"$5" 2>&1
  else
    wrk "${args[@]}" "$3" >"$5" 2>&1
  fi
}

to_ms() { # wrk latency ("812.00us", "1.23ms", "1.02s", "1.50m") -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else printf "nan" }'
}

declare -a NAME RPS P99 BAD
for idx in "${!ROWS[@]}"; do
  IFS='|' read -r name method url bodyfile expect <<<"${ROWS[$idx]}"
  preflight "$name" "$method" "$url" "$bodyfile" "$expect"
  if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
    log "warm-up $WARMUP: $name"
    run_wrk "$WARMUP" "$method" "$url" "$bodyfile" "$TMP/warmup-$idx.txt"
  fi
  log "wrk -t$THREADS -c$CONNS -d$DURATION: $name"
  out="$TMP/wrk-$idx.txt"
  run_wrk "$DURATION" "$method" "$url" "$bodyfile" "$out" || die "$name: wrk failed: $(cat "$out")"
  NAME[idx]=$name
  RPS[idx]=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  P99[idx]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  sockerr=$(awk -F'[ ,]+' '/Socket errors:/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s }' "$out")
  BAD[idx]=$((${non2xx:-0} + ${sockerr:-0}))
  [[ -n ${RPS[idx]} ]] || die "$name: could not parse wrk output: $(cat "$out")"
  ((BAD[idx] == 0)) || log "warning: $name: ${BAD[idx]} non-2xx responses / socket errors (see $out)"
  sleep 1
done

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "nan" }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r != "nan" && r + 0 >= t + 0) ? "PASS" : "FAIL" }'; }

R_REST_BARE=$(ratio "${RPS[1]}" "${RPS[0]}")
R_REST_GQL_GET=$(ratio "${RPS[1]}" "${RPS[2]}")
R_REST_GQL_LIST=$(ratio "${RPS[4]}" "${RPS[5]}")
R_REST_BARE_LIST=$(ratio "${RPS[4]}" "${RPS[3]}")
V1=$(verdict "$R_REST_BARE" 0.5)
V2=$(verdict "$R_REST_GQL_GET" 0.9)
V3=$(verdict "$R_REST_GQL_LIST" 0.9)

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1)
{
  echo "### OrchStack benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: ${CPU:-unknown CPU}, $(nproc) cores, $(uname -sr); database: $DB_KIND;" \
    "commit $REV${DIRTY:+ (dirty)}; wrk -t$THREADS -c$CONNS -d$DURATION (warm-up $WARMUP);" \
    "$N_AGENTS agents; load generator and servers share the machine."
  echo
  echo "| target | req/s | p99 (ms) | errors |"
  echo "|---|---:|---:|---:|"
  for idx in "${!NAME[@]}"; do
    printf '| %s | %s | %s | %s |\n' "${NAME[idx]}" "${RPS[idx]}" "${P99[idx]}" "${BAD[idx]}"
  done
  echo
  echo "| ratio (req/s) | value | target | result |"
  echo "|---|---:|---:|---|"
  echo "| REST / bare (single GET) | $R_REST_BARE | >= 0.50 | $V1 |"
  echo "| REST / GraphQL (single GET) | $R_REST_GQL_GET | >= 0.90 | $V2 |"
  echo "| REST / GraphQL (list of 50) | $R_REST_GQL_LIST | >= 0.90 | $V3 |"
  echo "| REST / bare (list of 50) | $R_REST_BARE_LIST | (information) | |"
  total_bad=0
  for b in "${BAD[@]}"; do total_bad=$((total_bad + b)); done
  if ((total_bad > 0)); then
    echo
    echo "**Warning:** $total_bad non-2xx responses or socket errors were counted; the" \
      "figures above are not valid (rate limiting? see bench/README.md)."
  fi
}

if [[ ${BENCH_STRICT:-0} == 1 && ( $V1 == FAIL || $V2 == FAIL || $V3 == FAIL ) ]]; then
  exit 1
fi
