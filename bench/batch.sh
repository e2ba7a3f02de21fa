#!/usr/bin/env bash
# Batch against single requests (issue 10): 100 agent creates sent as 100 single
# `POST /v1/agents` requests, as one `POST /v1/batch` of 100 operations, and as one atomic
# batch, end to end from a sequential client on one keep-alive connection, on an
# Enterprise organisation (the bootstrap key's). BENCH_ROUNDS (9) rounds, the order rotated; the
# medians and ratios at the end. SQLite by default; BENCH_DATABASE_URL (or the first
# argument) for PostgreSQL. Uses target/release (cargo build --release -p orchstack).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
KEY=os_live_benchbenchbenchbenchbench0001
LISTEN=${BENCH_API_LISTEN:-127.0.0.1:8098}
ROUNDS=${BENCH_ROUNDS:-9}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/orchstack-batch.XXXXXX")
URL=${1:-${BENCH_DATABASE_URL:-sqlite://$TMP/bench.db?mode=rwc}}
DATABASE_URL=$URL ORCHSTACK_LISTEN=$LISTEN ORCHSTACK_BOOTSTRAP_KEY=$KEY RUST_LOG=warn \
  "$BIN/orchstack" serve >"$TMP/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
until curl -sf -o /dev/null "http://$LISTEN/readyz"; do sleep 0.1; done
echo "database: ${URL%%:*}; $(nproc) cores; $ROUNDS rounds of 100 creates each way" >&2
python3 - "$LISTEN" "$KEY" "$ROUNDS" <<'PY'
import http.client, json, statistics, sys, time

listen, key, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = listen.split(":")
conn = http.client.HTTPConnection(host, int(port))
headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
n = 0

def post(path, body):
    conn.request("POST", path, json.dumps(body), headers)
    res = conn.getresponse()
    return res.status, json.loads(res.read())

def agent():
    global n
    n += 1
    return {"name": f"bench {n}", "model": "mock/echo", "instructions": "Be brief."}

def singles():
    for _ in range(100):
        status, body = post("/v1/agents", agent())
        assert status == 201, body

def batch(atomic):
    ops = [{"method": "POST", "path": "/v1/agents", "body": agent()} for _ in range(100)]
    status, body = post("/v1/batch", {"operations": ops, "atomic": atomic})
    assert status == 200, body
    assert [r["status"] for r in body["results"]] == [201] * 100, body

ways = [("100 single requests", singles), ("one batch", lambda: batch(False)),
        ("one atomic batch", lambda: batch(True))]
for _, run in ways:  # warm-up: caches, connection, prepared statements
    run()
times = {name: [] for name, _ in ways}
print("| round | " + " | ".join(f"{name} (ms)" for name, _ in ways) + " |")
print("|---|" + "---:|" * len(ways))
for r in range(1, rounds + 1):
    row = {}
    # Rotated each round: SQLite's WAL checkpoints (an fsync every ~1,000 pages written)
    # land on whichever way runs when one is due; rotating spreads them over all three.
    for name, run in ways[r % 3:] + ways[:r % 3]:
        started = time.perf_counter()
        run()
        ms = (time.perf_counter() - started) * 1000
        times[name].append(ms)
        row[name] = f"{ms:.1f}"
    print(f"| {r} | " + " | ".join(row[name] for name, _ in ways) + " |")
med = {name: statistics.median(t) for name, t in times.items()}
print("| median | " + " | ".join(f"{med[name]:.1f}" for name, _ in ways) + " |")
single = med["100 single requests"]
print()
print(f"batch speed-up (singles / batch, medians): {single / med['one batch']:.1f}x; "
      f"atomic: {single / med['one atomic batch']:.1f}x (target >= 5x)")
PY
