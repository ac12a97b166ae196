#!/usr/bin/env bash
# A/B of builds: intake latency at one connection, and commit to stream at
# 500 commands a second paced, on a fresh PostgreSQL database per run, three
# rounds alternating the builds (docs/benchmarks.md, "Hot paths").
#   go build -o /tmp/bin-a ./cmd/motcua   (one binary per build: /tmp/bin-NAME)
#   BUILDS="a b" scripts/ab.sh
set -u
BIN_DIR=${BIN_DIR:-/tmp}
DB=ab_bench
ADDR=127.0.0.1:18095
export NATS_URL=nats://127.0.0.1:4222 NATS_STREAM=ABBENCH NATS_SUBJECT_PREFIX=abbench.
export JWT_SECRET=bench-secret-bench-secret-bench-secret-0123 PUBLIC_RATE_LIMIT=0 LOG_LEVEL=warn TRUSTED_PROXIES=127.0.0.1/32
for round in 1 2 3; do
  for b in $BUILDS; do
    bin=$BIN_DIR/bin-$b
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" 2>/dev/null
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable" DATA_DIR=$(mktemp -d)
    $bin migrate >/dev/null 2>&1
    HTTP_ADDR=$ADDR $bin > /tmp/ab-server.log 2>&1 &
    srv=$!
    for i in $(seq 1 50); do curl -sf "http://$ADDR/healthz" >/dev/null && break; sleep 0.2; done
    echo "## round $round build $b $(uptime | sed 's/.*load/load/')"
    $bin bench --url "http://$ADDR" --duration ${DUR:-8s} --connections 1 --scenarios intake | grep -E '^intake'
    $bin bench --url "http://$ADDR" --duration ${DUR:-8s} --connections 32 --scenarios stream --rate 500 --dossiers 500 | grep -E '^stream'
    kill $srv; wait $srv 2>/dev/null
    rm -rf "$DATA_DIR"
  done
done
psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
