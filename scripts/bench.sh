#!/usr/bin/env bash
# The checkout benchmark, in one command:
#   scripts/bench.sh           full run (about 5 minutes on 2 cores)
#   scripts/bench.sh --smoke   a few-seconds version of the same phases
#   scripts/bench.sh --baseline REF [--smoke]
#                              also builds git REF (a worktree under target/bench-baseline)
#                              and measures both builds in the same run, phase by phase,
#                              in turns, on the same Postgres and Redis servers
#                              (each build its own databases; the baseline on Redis db 1);
#                              the report gives each figure's ratio to the baseline
#   scripts/bench.sh --scaled [--smoke]
#                              this build twice in the same run, as with --baseline: on
#                              empty databases, and on databases preloaded with 1,000,000
#                              orders, 100,000 products and 100,000 wallets
#                              (bench/sql/scaled-*.sql); the ratio is empty ÷ preloaded
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
SCALED=
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) MODE_ARGS=(--smoke); shift ;;
    --baseline) [ $# -ge 2 ] || die "--baseline needs a git ref"; BASELINE=$2; shift 2 ;;
    --scaled) SCALED=1; shift ;;
    *) die "usage: scripts/bench.sh [--smoke] [--baseline REF | --scaled]" ;;
  esac
done
[ -z "$BASELINE" ] || [ -z "$SCALED" ] || die "--baseline and --scaled do not go together"
# A second system to measure beside this build: a baseline build, or this build again.
SECOND=${BASELINE:+baseline}
[ -z "$SCALED" ] || SECOND=scaled

RUN=.run/bench
PG_PORT=${BENCH_PG_PORT:-55532}
REDIS_PORT=${BENCH_REDIS_PORT:-56479}
# Each build's gateway listens on its port base, order-svc, payment-svc and delivery-svc
# on the next three, each service's metrics on its own port + 30, REST on its HTTP port.
CURRENT_PORTS=${BENCH_BASE_PORT:-50150}
CURRENT_HTTP=${BENCH_HTTP_PORT:-8180}
BASELINE_PORTS=$(( CURRENT_PORTS + 10 ))
BASELINE_HTTP=$(( CURRENT_HTTP + 10 ))
BASE_TREE=target/bench-baseline/tree
if [ "$(id -u)" = 0 ]; then PG_DATA=/var/tmp/shop-bench/pg; else PG_DATA=$RUN/pg; fi

ensure_packages
command -v redis-benchmark >/dev/null || die "redis-benchmark not found (it comes with redis-tools)"
PATH="$PATH:$HOME/.cargo/bin"
PG_BIN=$(pg_bin_dir)
[ -x "$PG_BIN/pgbench" ] || die "pgbench not found in $PG_BIN"

# system_ports PORT_BASE HTTP_PORT: every port one build's services listen on.
system_ports() {
  local i
  for i in 0 1 2 3; do echo $(( $1 + i )) $(( $1 + i + 30 )); done
  echo "$2"
}
PORTS=("$PG_PORT" "$REDIS_PORT" $(system_ports "$CURRENT_PORTS" "$CURRENT_HTTP"))
[ -z "$SECOND" ] || PORTS+=($(system_ports "$BASELINE_PORTS" "$BASELINE_HTTP"))
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
[ -z "$SCALED" ] || BASE_BIN=$BIN

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
[ -z "$SECOND" ] || create_databases "$PG_PORT" base_order base_payment base_delivery base_gateway
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
start_redis "$RUN/redis" "$REDIS_PORT"

JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
INTERNAL_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
db() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"; }
# start BUILD NAME BINDIR PORT VAR=VALUE...: one service listening on PORT (metrics on
# PORT + 30); BUILD's pids are kept as name=pid for the cost per checkout.
declare -A BUILD_PIDS=()
start() {
  local build=$1 name=$2 bin=$3 port=$4; shift 4
  env "$@" LISTEN_ADDR="127.0.0.1:$port" METRICS_ADDR="127.0.0.1:$(( port + 30 ))" RUST_LOG="${RUST_LOG:-info}" \
    INTERNAL_TOKEN="$INTERNAL_TOKEN" "$bin/$name" >"$RUN/logs/$build-$name.log" 2>&1 &
  PIDS+=($!)
  BUILD_PIDS[$build]+="$name=$!,"
}
# start_system BUILD BINDIR DB_PREFIX REDIS_DB PORT_BASE HTTP_PORT
start_system() {
  local build=$1 bin=$2 prefix=$3 redis_db=$4 base=$5 http=$6
  local order=$(( base + 1 )) payment=$(( base + 2 )) delivery=$(( base + 3 ))
  log "starting $build: order-svc, payment-svc, delivery-svc, gateway"
  start "$build" order-svc "$bin" "$order" DATABASE_URL="$(db "${prefix}order")"
  start "$build" payment-svc "$bin" "$payment" DATABASE_URL="$(db "${prefix}payment")"
  start "$build" delivery-svc "$bin" "$delivery" DATABASE_URL="$(db "${prefix}delivery")" \
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT/$redis_db"
  # Each load client is one user checking out back to back, far above a person's
  # write rate: the per-user limit would measure itself, so it is lifted here.
  start "$build" gateway "$bin" "$base" HTTP_ADDR="127.0.0.1:$http" DATABASE_URL="$(db "${prefix}gateway")" \
    JWT_SECRET="$JWT_SECRET" ORDER_SVC_URL="http://127.0.0.1:$order" PAYMENT_SVC_URL="http://127.0.0.1:$payment" \
    DELIVERY_SVC_URL="http://127.0.0.1:$delivery" USER_WRITE_RATE=1000000 USER_WRITE_BURST=1000000
}
wait_ready() {
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.3
  done
  tail -n 20 "$RUN"/logs/*.log >&2
  die "the system with REST on port $1 did not become ready; logs in $RUN/logs"
}
# loadgen_env PREFIX PORT_BASE HTTP_PORT BUILD: the BENCH_* (or BENCH_BASELINE_*)
# variables that name one build to loadgen.
loadgen_env() {
  echo "$1GATEWAY_GRPC=127.0.0.1:$2" "$1GATEWAY_HTTP=127.0.0.1:$3" \
    "$1ECHO_GRPC=127.0.0.1:$(( $2 + 1 ))" "$1PIDS=${BUILD_PIDS[$4]}"
}
start_system current "$BIN" "" 0 "$CURRENT_PORTS" "$CURRENT_HTTP"
BASE_ENV=()
if [ -n "$SECOND" ]; then
  start_system baseline "$BASE_BIN" base_ 1 "$BASELINE_PORTS" "$BASELINE_HTTP"
  SECOND_NAME="baseline $BASELINE"
  [ -z "$SCALED" ] || SECOND_NAME="this build on 1M orders, 100k products, 100k wallets"
  BASE_ENV=($(loadgen_env BENCH_BASELINE_ "$BASELINE_PORTS" "$BASELINE_HTTP" baseline)
    BENCH_BASELINE_DB_PREFIX=base_ BENCH_BASELINE_REDIS_DB=1)
fi
wait_ready "$CURRENT_HTTP"
[ -z "$SECOND" ] || wait_ready "$BASELINE_HTTP"
if [ -n "$SCALED" ]; then
  # The services have made their tables; the preloaded build's get the data.
  log "loading the scaled data (1,000,000 orders, 100,000 products, 100,000 wallets)"
  started=$SECONDS
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d base_order -f bench/sql/scaled-order.sql
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d base_payment -f bench/sql/scaled-payment.sql
  log "loaded in $(( SECONDS - started )) s"
fi

REPORT=bench/results/$(date -u +%Y-%m-%d_%H%M%S).md
log "running loadgen ${MODE_ARGS[*]:-(full)}"
set +e
env $(loadgen_env BENCH_ "$CURRENT_PORTS" "$CURRENT_HTTP" current) "${BASE_ENV[@]}" \
  ${SECOND:+BENCH_BASELINE_NAME="$SECOND_NAME"} \
  BENCH_NAME="this build ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', uncommitted changes'))" \
  BENCH_COMMAND="$COMMAND" BENCH_JWT_SECRET=$JWT_SECRET \
  BENCH_PG_PORT=$PG_PORT BENCH_REDIS_PORT=$REDIS_PORT PG_BIN=$PG_BIN \
  "$BIN/loadgen" "${MODE_ARGS[@]}" --out "$REPORT"
status=$?
set -e
# Which statements the run's checkouts cost, by database and count (all phases together,
# both builds): where to look for round trips to save.
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench -P pager=off -c "
  SELECT d.datname AS database, s.calls, round(s.total_exec_time::numeric, 1) AS ms,
         left(regexp_replace(s.query, '\s+', ' ', 'g'), 160) AS statement
  FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
  WHERE d.datname <> 'bench' ORDER BY d.datname, s.calls DESC" >"${REPORT%.md}-statements.txt" || true
[ "$status" = 0 ] && log "report: $REPORT (statements: ${REPORT%.md}-statements.txt)" || log "loadgen exited with $status; service logs in $RUN/logs"
exit "$status"
