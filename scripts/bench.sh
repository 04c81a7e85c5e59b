#!/usr/bin/env bash
# The checkout benchmark, in one command:
#   scripts/bench.sh           full run (about 5 minutes on 2 cores)
#   scripts/bench.sh --smoke   a few-seconds version of the same phases
#   BENCH_CLIENTS=64,256 scripts/bench.sh   other client counts (default 1,16,64)
# Builds the services and loadgen in release mode, starts a private PostgreSQL (default
# settings: fsync and synchronous_commit on; only port, socket dir, listen address and
# max_connections=300 are set, as scripts/up.sh does) and a private Redis (as up.sh:
# appendonly yes) on their own ports, so a running dev stack is not disturbed, starts
# the four services as separate processes, runs loadgen, writes the report to
# bench/results/<date>.md and prints it. Everything is stopped and removed at the end
# (logs stay in .run/bench/logs). Exit status: loadgen's (3 = invariant audit failed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

MODE_ARGS=()
case "${1:-}" in
  --smoke) MODE_ARGS=(--smoke) ;;
  "") ;;
  *) die "usage: scripts/bench.sh [--smoke]" ;;
esac

RUN=.run/bench
PG_PORT=${BENCH_PG_PORT:-55532}
REDIS_PORT=${BENCH_REDIS_PORT:-56479}
GATEWAY_GRPC=127.0.0.1:${BENCH_BASE_PORT:-50150}
ORDER_ADDR=127.0.0.1:$(( ${BENCH_BASE_PORT:-50150} + 1 ))
PAYMENT_ADDR=127.0.0.1:$(( ${BENCH_BASE_PORT:-50150} + 2 ))
DELIVERY_ADDR=127.0.0.1:$(( ${BENCH_BASE_PORT:-50150} + 3 ))
GATEWAY_HTTP=127.0.0.1:${BENCH_HTTP_PORT:-8180}
if [ "$(id -u)" = 0 ]; then PG_DATA=/var/tmp/shop-bench/pg; else PG_DATA=$RUN/pg; fi

ensure_packages
command -v redis-benchmark >/dev/null || die "redis-benchmark not found (it comes with redis-tools)"
PATH="$PATH:$HOME/.cargo/bin"
PG_BIN=$(pg_bin_dir)
[ -x "$PG_BIN/pgbench" ] || die "pgbench not found in $PG_BIN"

for port in "$PG_PORT" "$REDIS_PORT" "${GATEWAY_GRPC##*:}" "${ORDER_ADDR##*:}" "${PAYMENT_ADDR##*:}" "${DELIVERY_ADDR##*:}" "${GATEWAY_HTTP##*:}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use (a previous benchmark still running?); set BENCH_PG_PORT / BENCH_REDIS_PORT / BENCH_BASE_PORT / BENCH_HTTP_PORT"
  fi
done

log "building the services and loadgen (release)"
scripts/build-release.sh -p shop-bench
BIN=target/release

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  stop_redis "$REDIS_PORT"
  stop_postgres "$PG_DATA"
  rm -rf "$PG_DATA" "$RUN/redis"
}
trap cleanup EXIT

# A fresh database every run, so runs compare (stopping a leftover server first).
stop_postgres "$PG_DATA"
rm -rf "$PG_DATA" "$RUN/redis" "$RUN/logs"
mkdir -p "$RUN/logs" "$(dirname "$PG_DATA")" bench/results
start_postgres "$PG_DATA" "$PG_PORT"
create_databases "$PG_PORT" order payment delivery gateway bench
start_redis "$RUN/redis" "$REDIS_PORT"

JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
INTERNAL_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
db() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"; }
start() {
  local name=$1; shift
  env "$@" RUST_LOG="${RUST_LOG:-info}" INTERNAL_TOKEN="$INTERNAL_TOKEN" "$BIN/$name" >"$RUN/logs/$name.log" 2>&1 &
  PIDS+=($!)
}
log "starting order-svc, payment-svc, delivery-svc, gateway"
start order-svc LISTEN_ADDR=$ORDER_ADDR DATABASE_URL="$(db order)"
start payment-svc LISTEN_ADDR=$PAYMENT_ADDR DATABASE_URL="$(db payment)"
start delivery-svc LISTEN_ADDR=$DELIVERY_ADDR DATABASE_URL="$(db delivery)" REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
# Each load client is one user checking out back to back, far above a person's
# write rate: the per-user limit would measure itself, so it is lifted here.
start gateway LISTEN_ADDR=$GATEWAY_GRPC HTTP_ADDR=$GATEWAY_HTTP DATABASE_URL="$(db gateway)" JWT_SECRET="$JWT_SECRET" \
  ORDER_SVC_URL=http://$ORDER_ADDR PAYMENT_SVC_URL=http://$PAYMENT_ADDR DELIVERY_SVC_URL=http://$DELIVERY_ADDR \
  USER_WRITE_RATE=1000000 USER_WRITE_BURST=1000000

for _ in $(seq 1 100); do
  curl -sf "http://$GATEWAY_HTTP/readyz" >/dev/null 2>&1 && break
  sleep 0.3
done
curl -sf "http://$GATEWAY_HTTP/readyz" >/dev/null || { tail -n 20 "$RUN"/logs/*.log >&2; die "the system did not become ready; logs in $RUN/logs"; }

REPORT=bench/results/$(date -u +%Y-%m-%d_%H%M%S).md
log "running loadgen ${MODE_ARGS[*]:-(full)}"
set +e
BENCH_COMMAND="scripts/bench.sh${1:+ $1}" \
BENCH_GATEWAY_GRPC=$GATEWAY_GRPC BENCH_GATEWAY_HTTP=$GATEWAY_HTTP BENCH_ECHO_GRPC=$ORDER_ADDR \
BENCH_JWT_SECRET=$JWT_SECRET BENCH_PG_PORT=$PG_PORT BENCH_REDIS_PORT=$REDIS_PORT PG_BIN=$PG_BIN \
  "$BIN/loadgen" "${MODE_ARGS[@]}" --out "$REPORT"
status=$?
set -e
[ "$status" = 0 ] && log "report: $REPORT" || log "loadgen exited with $status; service logs in $RUN/logs"
exit "$status"
