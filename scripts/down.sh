#!/usr/bin/env bash
# Stops what scripts/up.sh started. `--services-only` leaves PostgreSQL, Redis (and
# RabbitMQ) up.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
RUN=.run
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
if [ "$(id -u)" = 0 ]; then PG_DATA=/var/tmp/shop-checkout/pg; else PG_DATA=$RUN/pg; fi

for name in gateway delivery-svc payment-svc order-svc exporter; do
  pidfile=$RUN/$name.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
done
[ "${1:-}" = --services-only ] && exit 0
stop_rabbitmq "$RUN/rabbitmq"
stop_redis "$REDIS_PORT"
stop_postgres "$PG_DATA"
log "stopped"
