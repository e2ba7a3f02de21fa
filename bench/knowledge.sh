#!/usr/bin/env bash
# Knowledge bases (issue 12): documents indexed per second (1,000 Markdown documents of
# ~4 KB, keyword only and with a local embeddings server), search p50/p99 at 100,000
# chunks (keyword, semantic with 384-dimension vectors, hybrid) and the vector cache's
# memory, on SQLite (default) or the PostgreSQL URL given as the first argument.
#
#   bench/knowledge.sh                                         # SQLite in a temp dir
#   bench/knowledge.sh postgres://postgres@127.0.0.1:5432/orchstack_bench
#
# BENCH_DOCS, BENCH_CHUNKS and BENCH_QUERIES change the sizes; BENCH_SKIP_BUILD=1 uses
# the binaries already in target/release. The database must be empty (PostgreSQL: the
# script drops and recreates the public schema of the database it is given).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -p orchstack -p bench-knowledge >&2
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
URL=${1:-${BENCH_DATABASE_URL:-sqlite://$TMP/knowledge.db?mode=rwc}}
case "$URL" in
  postgres*) psql "$URL" -q -c 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;' ;;
esac
echo "database: ${URL%%\?*}" >&2
BENCH_DATABASE_URL="$URL" BENCH_BIN="$ROOT/target/release/orchstack" \
  "$ROOT/target/release/bench-knowledge"
