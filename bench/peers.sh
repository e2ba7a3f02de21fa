#!/usr/bin/env bash
# OrchStack side by side with its peers (issue 11): runs the shared peer harness
# (../shared/peers, see its README) against this checkout's release build, in one run.
#
#   bench/peers.sh                 # 2 interleaved rounds, 10 s per case
#   BENCH_ROUNDS=1 BENCH_DURATION=6s bench/peers.sh
#
# What it does: copies the harness to PEERS_WORKDIR (it is read-only where it is laid
# out; the copy keeps the peers' builds between runs), runs its setup once per machine (apt wrk, the `bench` database, PostGraphile, the
# LangGraph venv; skipped when PEERS_SKIP_SETUP=1), starts the three peers, builds
# OrchStack (skip with BENCH_SKIP_BUILD=1), runs `compare.sh` and stops the peers.
#
# The harness starts OrchStack with its bootstrap organisation (Enterprise tier). Its
# rate limit (10,000 requests a minute) would refuse most of a 64-connection load and
# the 10,000-run seed, and the peers limit nothing: the limiter stays on (every request
# still pays for its check) with a budget no case reaches.
#
# Knobs (env): BENCH_ROUNDS (2), BENCH_DURATION (10s), PEERS_DIR (../shared/peers),
# PEERS_WORKDIR (target/peers-harness), PEERS_SKIP_SETUP (0: run it; 1 only once a
# setup has built the peers in PEERS_WORKDIR), BENCH_SKIP_BUILD (0). The report (the
# harness's table of medians) is printed at the end; results/run-*.tsv stay in
# PEERS_WORKDIR/peers/results.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
[ -d "$PEERS_DIR" ] || { echo "no peer harness at $PEERS_DIR (set PEERS_DIR)" >&2; exit 2; }
work=${PEERS_WORKDIR:-$ROOT/target/peers-harness}
mkdir -p "$work/peers"
# The harness's own files, refreshed; the peers' builds in the copy stay.
cp -r "$PEERS_DIR/." "$work/peers/"
cd "$work/peers"
echo "[peers] harness in $work/peers" >&2
if [ "${PEERS_SKIP_SETUP:-0}" != 1 ]; then ./setup.sh >&2; fi
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then (cd "$ROOT" && cargo build --release >&2); fi
./servers.sh start >&2
trap './servers.sh stop >&2 || true' EXIT
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE=100000000
export ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST=10000000
DURATION=${BENCH_DURATION:-10s} ./compare.sh "$ROOT" "${BENCH_ROUNDS:-2}"
