#!/usr/bin/env bash
# The checkout benchmark, in one command:
#   scripts/bench.sh           full run (about 5 minutes on 2 cores)
#   scripts/bench.sh --smoke   a few-seconds version of the same phases
#   scripts/bench.sh --baseline REF [--smoke]
#                              also builds git REF (a worktree under target/bench-baseline)
#                              and measures both builds in the same run, phase by phase in
#                              alternating order, on the same Postgres and Redis servers
#                              (each build its own databases; the baseline on Redis db 1);
#                              the report gives each figure's ratio to the baseline
#   BENCH_CLIENTS=64,256 scripts/bench.sh   other client counts (default 1,16,64)
# Builds the services and loadgen in release mode, starts a private PostgreSQL (default
# settings: fsync and synchronous_commit on; only port, socket dir, listen address,
# max_connections=300 and, for counting statements, pg_stat_statements are set) and a
# private Redis (as up.sh: appendonly yes) on their own ports, so a running dev stack is
# not disturbed, starts the four services as separate processes, runs loadgen, writes
# the report to bench/results/<date>.md and prints it. Everything is stopped and removed
# at the end (logs stay in .run/bench/logs). Exit status: loadgen's (3 = invariant audit
# failed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

COMMAND="scripts/bench.sh${*:+ $*}"
MODE_ARGS=()
BASELINE=
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) MODE_ARGS=(--smoke); shift ;;
    --baseline) [ $# -ge 2 ] || die "--baseline needs a git ref"; BASELINE=$2; shift 2 ;;
    *) die "usage: scripts/bench.sh [--smoke] [--baseline REF]" ;;
  esac
done

RUN=.run/bench
PG_PORT=${BENCH_PG_PORT:-55532}
REDIS_PORT=${BENCH_REDIS_PORT:-56479}
GATEWAY_GRPC=127.0.0.1:${BENCH_BASE_PORT:-50150}
ORDER_ADDR=127.0.0.1:$(( ${BENCH_BASE_PORT:-50150} + 1 ))
PAYMENT_ADDR=127.0.0.1:$(( ${BENCH_BASE_PORT:-50150} + 2 ))
DELIVERY_ADDR=127.0.0.1:$(( ${BENCH_BASE_PORT:-50150} + 3 ))
GATEWAY_HTTP=127.0.0.1:${BENCH_HTTP_PORT:-8180}
BASE_PORT=$(( ${BENCH_BASE_PORT:-50150} + 10 ))
BASE_GATEWAY_GRPC=127.0.0.1:$BASE_PORT
BASE_ORDER_ADDR=127.0.0.1:$(( BASE_PORT + 1 ))
BASE_PAYMENT_ADDR=127.0.0.1:$(( BASE_PORT + 2 ))
BASE_DELIVERY_ADDR=127.0.0.1:$(( BASE_PORT + 3 ))
BASE_GATEWAY_HTTP=127.0.0.1:$(( ${BENCH_HTTP_PORT:-8180} + 10 ))
BASE_TREE=target/bench-baseline/tree
if [ "$(id -u)" = 0 ]; then PG_DATA=/var/tmp/shop-bench/pg; else PG_DATA=$RUN/pg; fi

ensure_packages
command -v redis-benchmark >/dev/null || die "redis-benchmark not found (it comes with redis-tools)"
PATH="$PATH:$HOME/.cargo/bin"
PG_BIN=$(pg_bin_dir)
[ -x "$PG_BIN/pgbench" ] || die "pgbench not found in $PG_BIN"

PORTS=("$PG_PORT" "$REDIS_PORT" "${GATEWAY_GRPC##*:}" "${ORDER_ADDR##*:}" "${PAYMENT_ADDR##*:}" "${DELIVERY_ADDR##*:}" "${GATEWAY_HTTP##*:}")
[ -z "$BASELINE" ] || PORTS+=("$BASE_PORT" $(( BASE_PORT + 1 )) $(( BASE_PORT + 2 )) $(( BASE_PORT + 3 )) "${BASE_GATEWAY_HTTP##*:}")
for port in "${PORTS[@]:2}"; do PORTS+=($(( port + 30 ))); done
for port in "${PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use (a previous benchmark still running?); set BENCH_PG_PORT / BENCH_REDIS_PORT / BENCH_BASE_PORT / BENCH_HTTP_PORT"
  fi
done

log "building the services and loadgen (release)"
scripts/build-release.sh -p shop-bench
BIN=target/release
if [ -n "$BASELINE" ]; then
  BASE_REV=$(git rev-parse --verify --quiet "$BASELINE^{commit}") || die "--baseline: $BASELINE is not a commit"
  git worktree remove --force "$BASE_TREE" 2>/dev/null || rm -rf "$BASE_TREE"
  git worktree prune
  git worktree add --detach "$BASE_TREE" "$BASE_REV" >/dev/null
  log "building the baseline $BASELINE (${BASE_REV:0:12}) in $BASE_TREE (release)"
  CARGO_TARGET_DIR="$PWD/target/bench-baseline/target" "$BASE_TREE/scripts/build-release.sh"
  BASE_BIN=target/bench-baseline/target/release
fi

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  stop_redis "$REDIS_PORT"
  stop_postgres "$PG_DATA"
  rm -rf "$PG_DATA" "$RUN/redis"
  [ -z "$BASELINE" ] || git worktree remove --force "$BASE_TREE" 2>/dev/null || true
}
trap cleanup EXIT

# A fresh database every run, so runs compare (stopping a leftover server first).
stop_postgres "$PG_DATA"
rm -rf "$PG_DATA" "$RUN/redis" "$RUN/logs"
mkdir -p "$RUN/logs" "$(dirname "$PG_DATA")" bench/results
start_postgres "$PG_DATA" "$PG_PORT" "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
create_databases "$PG_PORT" order payment delivery gateway bench
[ -z "$BASELINE" ] || create_databases "$PG_PORT" base_order base_payment base_delivery base_gateway
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
start_redis "$RUN/redis" "$REDIS_PORT"

JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
INTERNAL_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
db() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"; }
# start BUILD NAME BINDIR VAR=VALUE...: one service; BUILD's pids are kept as name=pid
# for the cost per checkout.
declare -A BUILD_PIDS=()
start() {
  local build=$1 name=$2 bin=$3; shift 3
  env "$@" METRICS_ADDR="$(metrics_addr "$@")" RUST_LOG="${RUST_LOG:-info}" INTERNAL_TOKEN="$INTERNAL_TOKEN" "$bin/$name" >"$RUN/logs/$build-$name.log" 2>&1 &
  PIDS+=($!)
  BUILD_PIDS[$build]+="$name=$!,"
}
# A service's Prometheus port: its LISTEN_ADDR's port + 30 (the defaults would collide
# between the builds and with a dev stack).
metrics_addr() {
  local arg
  for arg in "$@"; do
    case "$arg" in LISTEN_ADDR=*) echo "127.0.0.1:$(( ${arg##*:} + 30 ))"; return ;; esac
  done
}
# start_system BUILD BINDIR DB_PREFIX REDIS_DB GATEWAY_GRPC HTTP ORDER PAYMENT DELIVERY
start_system() {
  local build=$1 bin=$2 prefix=$3 redis_db=$4 grpc=$5 http=$6 order=$7 payment=$8 delivery=$9
  log "starting $build: order-svc, payment-svc, delivery-svc, gateway"
  start "$build" order-svc "$bin" LISTEN_ADDR="$order" DATABASE_URL="$(db "${prefix}order")"
  start "$build" payment-svc "$bin" LISTEN_ADDR="$payment" DATABASE_URL="$(db "${prefix}payment")"
  start "$build" delivery-svc "$bin" LISTEN_ADDR="$delivery" DATABASE_URL="$(db "${prefix}delivery")" \
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT/$redis_db"
  # Each load client is one user checking out back to back, far above a person's
  # write rate: the per-user limit would measure itself, so it is lifted here.
  start "$build" gateway "$bin" LISTEN_ADDR="$grpc" HTTP_ADDR="$http" DATABASE_URL="$(db "${prefix}gateway")" \
    JWT_SECRET="$JWT_SECRET" ORDER_SVC_URL="http://$order" PAYMENT_SVC_URL="http://$payment" \
    DELIVERY_SVC_URL="http://$delivery" USER_WRITE_RATE=1000000 USER_WRITE_BURST=1000000
}
wait_ready() {
  for _ in $(seq 1 100); do
    curl -sf "http://$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.3
  done
  tail -n 20 "$RUN"/logs/*.log >&2
  die "the system at $1 did not become ready; logs in $RUN/logs"
}
start_system current "$BIN" "" 0 "$GATEWAY_GRPC" "$GATEWAY_HTTP" "$ORDER_ADDR" "$PAYMENT_ADDR" "$DELIVERY_ADDR"
BASE_ENV=()
if [ -n "$BASELINE" ]; then
  start_system baseline "$BASE_BIN" base_ 1 "$BASE_GATEWAY_GRPC" "$BASE_GATEWAY_HTTP" \
    "$BASE_ORDER_ADDR" "$BASE_PAYMENT_ADDR" "$BASE_DELIVERY_ADDR"
  BASE_ENV=(BENCH_BASELINE_NAME="baseline $BASELINE" BENCH_BASELINE_GATEWAY_GRPC="$BASE_GATEWAY_GRPC"
    BENCH_BASELINE_GATEWAY_HTTP="$BASE_GATEWAY_HTTP" BENCH_BASELINE_ECHO_GRPC="$BASE_ORDER_ADDR"
    BENCH_BASELINE_DB_PREFIX=base_ BENCH_BASELINE_REDIS_DB=1 BENCH_BASELINE_PIDS="${BUILD_PIDS[baseline]}")
fi
wait_ready "$GATEWAY_HTTP"
[ -z "$BASELINE" ] || wait_ready "$BASE_GATEWAY_HTTP"

REPORT=bench/results/$(date -u +%Y-%m-%d_%H%M%S).md
log "running loadgen ${MODE_ARGS[*]:-(full)}"
set +e
env "${BASE_ENV[@]}" BENCH_COMMAND="$COMMAND" BENCH_NAME="this build ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', uncommitted changes'))" \
  BENCH_GATEWAY_GRPC=$GATEWAY_GRPC BENCH_GATEWAY_HTTP=$GATEWAY_HTTP BENCH_ECHO_GRPC=$ORDER_ADDR \
  BENCH_PIDS="${BUILD_PIDS[current]}" BENCH_JWT_SECRET=$JWT_SECRET BENCH_PG_PORT=$PG_PORT \
  BENCH_REDIS_PORT=$REDIS_PORT PG_BIN=$PG_BIN \
  "$BIN/loadgen" "${MODE_ARGS[@]}" --out "$REPORT"
status=$?
set -e
[ "$status" = 0 ] && log "report: $REPORT" || log "loadgen exited with $status; service logs in $RUN/logs"
exit "$status"
