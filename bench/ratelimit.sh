#!/usr/bin/env bash
# What the per-request platform layers cost (issue 10): REST GET of one agent with each
# layer off and on, side by side in one run. One server per configuration (each on its
# own SQLite file with one agent, workers off), measured in BENCH_ROUNDS rounds of wrk,
# each round in another order, so that drift on the machine hits every configuration
# alike. See
# bench/README.md ("Rate limiter cost").
#
#   bench/ratelimit.sh                   # in-process limiter, and Redis at REDIS_URL
#   BENCH_REDIS_URL= bench/ratelimit.sh  # no Redis row
#
# Knobs (env): BENCH_DURATION (10s), BENCH_WARMUP (2s, 0 to skip), BENCH_ROUNDS (3),
# BENCH_THREADS (2), BENCH_CONNECTIONS (32), BENCH_REDIS_URL (REDIS_URL, else
# redis://127.0.0.1:6379; empty = no Redis row), BENCH_BASE_PORT (8092; one port per
# configuration from there), BENCH_SKIP_BUILD (1 = use target/release), BENCH_KEEP_TMP
# (1 = keep the temp dir), BENCH_STRICT (1 = exit 1 when a target is missed).
#
# Progress goes to stderr; the report (markdown) goes to stdout.
set -euo pipefail

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-32}
BASE_PORT=${BENCH_BASE_PORT:-8092}
REDIS=${BENCH_REDIS_URL-${REDIS_URL:-redis://127.0.0.1:6379}}
KEY=os_live_benchbenchbenchbenchbench0001
AUTH="Authorization: Bearer $KEY"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/orchstack-ratelimit.XXXXXX")

# ---------------------------------------------------------------- configurations
# label | environment of its server (space-separated NAME=VALUE). The first is the
# baseline every other row is compared with. Every server runs the bootstrap
# organisation (Enterprise) with a budget no run reaches: with the limiter on, each
# request is checked and charged, and none is refused.
ROOMY="ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE=100000000 ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST=10000000"
CONFIGS=(
  "layers off|ORCHSTACK_RATE_LIMITS__ENABLED=false ORCHSTACK_IDEMPOTENCY__ENABLED=false"
  "idempotency layer on|ORCHSTACK_RATE_LIMITS__ENABLED=false ORCHSTACK_IDEMPOTENCY__ENABLED=true"
  "rate limiter on, in-process|ORCHSTACK_RATE_LIMITS__ENABLED=true ORCHSTACK_IDEMPOTENCY__ENABLED=false $ROOMY"
  "both on, in-process|ORCHSTACK_RATE_LIMITS__ENABLED=true ORCHSTACK_IDEMPOTENCY__ENABLED=true $ROOMY"
)
if [[ -n $REDIS ]]; then
  if redis-cli -u "$REDIS" ping >/dev/null 2>&1; then
    CONFIGS+=("both on, Redis limiter|ORCHSTACK_RATE_LIMITS__ENABLED=true ORCHSTACK_IDEMPOTENCY__ENABLED=true $ROOMY REDIS_URL=$REDIS")
  else
    log "no Redis answers at $REDIS: no Redis row"
  fi
fi
# The idempotency layer acts on writes that carry a key; on this GET it costs its place
# in the stack (a header lookup), which is what a read pays for it.

PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    for f in "$TMP"/server-*.log; do
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

# ---------------------------------------------------------------- tools, build
command -v wrk >/dev/null 2>&1 || {
  log "installing wrk"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y wrk >/dev/null; } \
    || die "could not install wrk"
}
command -v curl >/dev/null 2>&1 || die "curl is required"
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release -p orchstack"
  cargo build --release -p orchstack >&2
fi
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/orchstack
[[ -x $BIN ]] || die "missing $BIN"

# ---------------------------------------------------------------- servers
declare -a LABEL URL
for i in "${!CONFIGS[@]}"; do
  IFS='|' read -r label envs <<<"${CONFIGS[$i]}"
  listen="127.0.0.1:$((BASE_PORT + i))"
  curl -s -o /dev/null --max-time 1 "http://$listen/" && die "something already listens on $listen"
  log "starting '$label' on $listen"
  # shellcheck disable=SC2086 # $envs is a list of NAME=VALUE words
  env $envs DATABASE_URL="sqlite://$TMP/db-$i.db?mode=rwc" ORCHSTACK_LISTEN="$listen" \
    ORCHSTACK_BOOTSTRAP_KEY="$KEY" ORCHSTACK_WORKER__ENABLED=false RUST_LOG=warn \
    "$BIN" serve >"$TMP/server-$i.log" 2>&1 &
  PIDS+=($!)
  deadline=$((SECONDS + 30))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$listen/readyz" || true) == 200 ]]; do
    kill -0 "${PIDS[$i]}" 2>/dev/null || die "'$label' exited before it was ready"
    ((SECONDS < deadline)) || die "'$label' not ready after 30 s"
    sleep 0.1
  done
  id=$(curl -sf -X POST "http://$listen/v1/agents" -H "$AUTH" -H 'Content-Type: application/json' \
    -d '{"name":"bench-1","model":"mock/echo","instructions":"You are a helpful agent."}' \
    | grep -o '"id":"[^"]*"' | head -n 1 | cut -d'"' -f4)
  [[ -n $id ]] || die "'$label': could not create the agent"
  LABEL[i]=$label
  URL[i]="http://$listen/v1/agents/$id"
  # The row must answer 200 with the agent, and say whether it is limited.
  headers=$(curl -s -D - -o "$TMP/preflight.json" "${URL[i]}" -H "$AUTH")
  grep -q '"bench-1"' "$TMP/preflight.json" || die "'$label': GET answered $(head -c 300 "$TMP/preflight.json")"
  limited=$(grep -ci '^ratelimit:' <<<"$headers" || true)
  log "'$label': GET ${URL[i]} ok (rate-limit headers: $limited)"
done

# ---------------------------------------------------------------- rounds
run_wrk() { # duration url outfile
  wrk -t"$THREADS" -c"$CONNS" -d"$1" --latency --timeout 5s -H "$AUTH" "$2" >"$3" 2>&1
}
declare -A RPS P99 BAD
N=${#CONFIGS[@]}
for r in $(seq 1 "$ROUNDS"); do
  # Each round starts one configuration later, so none is always measured first.
  for k in $(seq 0 $((N - 1))); do
    i=$(((k + r - 1) % N))
    if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
      run_wrk "$WARMUP" "${URL[i]}" "$TMP/warmup.txt"
    fi
    log "round $r: wrk -t$THREADS -c$CONNS -d$DURATION: ${LABEL[i]}"
    out="$TMP/wrk-$r-$i.txt"
    run_wrk "$DURATION" "${URL[i]}" "$out" || die "wrk failed: $(cat "$out")"
    RPS[$r,$i]=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    P99[$r,$i]=$(awk '$1 == "99%" { print $2 }' "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    sockerr=$(awk -F'[ ,]+' '/Socket errors:/ { s = 0; for (j = 1; j <= NF; j++) if ($j ~ /^[0-9]+$/) s += $j; print s }' "$out")
    BAD[$r,$i]=$((${non2xx:-0} + ${sockerr:-0}))
    [[ -n ${RPS[$r,$i]} ]] || die "could not parse wrk output: $(cat "$out")"
    ((BAD[$r,$i] == 0)) || log "warning: ${LABEL[i]}: ${BAD[$r,$i]} non-2xx responses / socket errors"
  done
done

# ---------------------------------------------------------------- report
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -a MED
for i in "${!CONFIGS[@]}"; do
  MED[i]=$(for r in $(seq 1 "$ROUNDS"); do printf '%s ' "${RPS[$r,$i]}"; done | median)
done
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
missed=0
{
  echo "#### Platform layers' cost — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: ${CPU:-unknown CPU}, $(nproc) cores, $(uname -sr); SQLite; commit $REV;" \
    "REST GET /v1/agents/:id; wrk -t$THREADS -c$CONNS -d$DURATION (warm-up $WARMUP)," \
    "$ROUNDS rounds (rotating order); load generator and servers share the machine."
  echo
  printf '| configuration |'
  for r in $(seq 1 "$ROUNDS"); do printf ' round %s req/s (p99) |' "$r"; done
  echo ' median req/s | vs first row | errors |'
  printf '|---|'
  for _ in $(seq 1 "$ROUNDS"); do printf -- '---:|'; done
  printf '%s\n' '---:|---:|---:|'
  for i in "${!CONFIGS[@]}"; do
    printf '| %s |' "${LABEL[i]}"
    errors=0
    for r in $(seq 1 "$ROUNDS"); do
      printf ' %s (%s) |' "${RPS[$r,$i]}" "${P99[$r,$i]}"
      errors=$((errors + BAD[$r,$i]))
    done
    ratio=$(awk -v a="${MED[i]}" -v b="${MED[0]}" 'BEGIN { printf "%.3f", a / b }')
    printf ' %s | %s | %s |\n' "${MED[i]}" "$ratio" "$errors"
    ((errors == 0)) || missed=1
  done
  echo
  # The target (DESIGN.md, issue 10): at most 5 % fewer requests/s with the layers on,
  # in-process; Redis rows are reported, not judged.
  for i in "${!CONFIGS[@]}"; do
    ((i == 0)) && continue
    [[ ${LABEL[i]} == *Redis* ]] && continue
    ok=$(awk -v a="${MED[i]}" -v b="${MED[0]}" 'BEGIN { print (a >= 0.95 * b) ? "PASS" : "FAIL" }')
    echo "- ${LABEL[i]}: median $(awk -v a="${MED[i]}" -v b="${MED[0]}" 'BEGIN { printf "%+.1f %%", (a / b - 1) * 100 }') vs ${LABEL[0]} (target ≥ −5 %): $ok"
    [[ $ok == PASS ]] || missed=1
  done
}
if [[ ${BENCH_STRICT:-0} == 1 && $missed == 1 ]]; then
  exit 1
fi
