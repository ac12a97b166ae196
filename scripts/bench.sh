#!/usr/bin/env bash
# One command for docs/benchmarks.md's load table: builds the binary, makes a
# fresh PostgreSQL database with DOSSIERS dossiers, starts the service on it
# and the local NATS, measures /healthz as the ceiling, then look-ups,
# intakes, transitions and a mix with `motcua bench`, commit-to-stream latency
# at a paced RATE (default 500 commands a second), and the same database work
# of an intake with pgbench (the same-run database ceiling).
#   scripts/bench.sh            (defaults: 1,000,000 dossiers, 32 connections, 10 s a scenario)
#   DOSSIERS=100000 DURATION=5s scripts/bench.sh
#   REUSE=1 scripts/bench.sh    (the next runs on the same database, not seeded again)
set -euo pipefail
cd "$(dirname "$0")/.."
DOSSIERS=${DOSSIERS:-1000000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PGHOST=${PGHOST:-127.0.0.1}
DB=${BENCH_DB:-motcua_load}
ADDR=${BENCH_ADDR:-127.0.0.1:18090}
export CGO_ENABLED=0
work=$(mktemp -d)
server=; trap '[ -n "$server" ] && kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/motcua" ./cmd/motcua
export DATABASE_URL="postgres://postgres@$PGHOST:5432/$DB?sslmode=disable"
export NATS_URL=${NATS_URL:-nats://127.0.0.1:4222} NATS_STREAM=${BENCH_STREAM:-BENCH} NATS_SUBJECT_PREFIX=${BENCH_SUBJECT_PREFIX:-bench.}
export DATA_DIR="$work/data" JWT_SECRET=bench-secret-bench-secret-bench-secret-0123 PUBLIC_RATE_LIMIT=0 LOG_LEVEL=warn TRUSTED_PROXIES=127.0.0.1/32
if [ "${REUSE:-0}" = 1 ] && psql -At -h "$PGHOST" -U postgres -d "$DB" -c "SELECT 1" >/dev/null 2>&1; then
  echo "reusing database $DB as it is (REUSE=1)"
  "$work/motcua" migrate
else
  psql -q -h "$PGHOST" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  "$work/motcua" migrate
  if [ "$DOSSIERS" -gt 0 ]; then
    echo "seeding $DOSSIERS dossiers"
    time "$work/motcua" seed --dossiers "$DOSSIERS"
  fi
fi
psql -q -h "$PGHOST" -U postgres -d "$DB" -c "VACUUM ANALYZE"
HTTP_ADDR=$ADDR "$work/motcua" > "$work/server.log" 2>&1 &
server=$!
for i in $(seq 1 50); do curl -sf "http://$ADDR/healthz" >/dev/null && break; sleep 0.2; done

echo "== service (motcua bench, $CONNECTIONS connections, $DURATION a scenario)"
"$work/motcua" bench --url "http://$ADDR" --duration "$DURATION" --connections "$CONNECTIONS" \
  --scenarios healthz,lookup,intake,transition,mix | tee "$work/service.txt"

echo "== database ceiling of a look-up: one point read of the same row shape (pgbench, $CONNECTIONS clients)"
maxid=$(psql -At -h "$PGHOST" -U postgres -d "$DB" -c "SELECT max(id) FROM dossiers")
pgbench -n -h "$PGHOST" -U postgres -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" -M prepared -D maxid="$maxid" \
  -f scripts/pointread.pgbench "$DB" | tee "$work/pointread.txt" | grep -E "tps|latency average"
awk '/^healthz /{h=$2} /^lookup /{l=$2} /^intake /{i=$2} /^transition /{t=$2}
  FILENAME ~ /pointread/ && /^tps/{p=$3}
  END{c=1/(1/h+1/p); printf "ratios: look-up / (1/(1/healthz + 1/point reads)) = %d / %d = %.2f; transition / intake = %.2f\n", l, c, l/c, t/i}' \
  "$work/service.txt" "$work/pointread.txt"

echo "== commit to stream (motcua bench --scenarios stream, paced at ${RATE:-500}/s for ${STREAM_DURATION:-20s})"
"$work/motcua" bench --url "http://$ADDR" --duration "${STREAM_DURATION:-20s}" --connections "$CONNECTIONS" \
  --scenarios stream --rate "${RATE:-500}" --dossiers 500 | grep -v '^healthz'

echo "== database ceiling: the same work as one intake (pgbench, $CONNECTIONS clients)"
pgbench -n -h "$PGHOST" -U postgres -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" -f scripts/intake.pgbench "$DB" | grep -E "tps|latency average"
kill $server
wait $server 2>/dev/null || true
