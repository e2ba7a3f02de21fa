#!/usr/bin/env bash
# Cold start to ready and idle RSS (DESIGN.md §8): starts target/release/orchstack on a
# fresh SQLite file (first start: migrations + bootstrap) and again on the migrated file,
# timing exec → first 200 from /readyz, then reads VmRSS after 2 s idle.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/target/release/orchstack"
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$TMP"' EXIT
ADDR=127.0.0.1:${COLDSTART_PORT:-8093}
for run in first-start restart; do
  start=$(date +%s%N)
  DATABASE_URL="sqlite://$TMP/cs.db?mode=rwc" ORCHSTACK_LISTEN=$ADDR RUST_LOG=warn "$BIN" serve >/dev/null 2>&1 &
  PID=$!
  until curl -fs "http://$ADDR/readyz" >/dev/null 2>&1; do sleep 0.002; done
  ready=$(( ($(date +%s%N) - start) / 1000000 ))
  sleep 2
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  echo "$run: ready in ${ready} ms; idle RSS $((rss / 1024)) MiB"
  kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
done
