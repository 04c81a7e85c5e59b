#!/usr/bin/env bash
# Brings up the whole checkout system on this machine: installs PostgreSQL, Redis
# (and grpcurl) when absent, starts private instances of both, creates the four
# databases, builds and starts the four services, seeds a demo product and wallet,
# and prints addresses, tokens and working grpcurl/curl examples.
# `--with-events` also starts a private RabbitMQ (installed when absent) and the
# exporter, and turns on the event relays of order-svc and delivery-svc (AMQP_URL).
# Stop it with scripts/down.sh. Everything lives under .run/ (PostgreSQL's data under
# /var/tmp/shop-checkout when run as root, as postgres cannot run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

RUN=.run
WITH_EVENTS=
for arg in "$@"; do
  case "$arg" in
    --with-events) WITH_EVENTS=1 ;;
    *) die "unknown argument $arg (known: --with-events)" ;;
  esac
done
AMQP_PORT=${AMQP_PORT:-55672}
EXPORTER_ADDR=127.0.0.1:50054
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
GATEWAY_GRPC=${GATEWAY_GRPC:-127.0.0.1:50050}
GATEWAY_HTTP=${GATEWAY_HTTP:-127.0.0.1:8080}
ORDER_ADDR=127.0.0.1:50051
PAYMENT_ADDR=127.0.0.1:50052
DELIVERY_ADDR=127.0.0.1:50053
PROFILE=${PROFILE:-debug}
if [ "$(id -u)" = 0 ]; then PG_DATA=/var/tmp/shop-checkout/pg; else PG_DATA=$RUN/pg; fi

mkdir -p "$RUN/logs"
ensure_packages
ensure_grpcurl
PATH="$PATH:$HOME/.cargo/bin"

# Secrets made once per checkout, kept in .run/.
[ -s "$RUN/jwt_secret" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$RUN/jwt_secret"
[ -s "$RUN/internal_token" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$RUN/internal_token"
JWT_SECRET=$(cat "$RUN/jwt_secret")
INTERNAL_TOKEN=$(cat "$RUN/internal_token")

scripts/down.sh --services-only >/dev/null 2>&1 || true
mkdir -p "$(dirname "$PG_DATA")"
start_postgres "$PG_DATA" "$PG_PORT"
create_databases "$PG_PORT" order payment delivery gateway
start_redis "$RUN/redis" "$REDIS_PORT"
EVENTS_ENV=()
if [ -n "$WITH_EVENTS" ]; then
  ensure_rabbitmq
  start_rabbitmq "$RUN/rabbitmq" "$AMQP_PORT"
  create_databases "$PG_PORT" exporter
  AMQP_URL="amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2f"
  EVENTS_ENV=(AMQP_URL="$AMQP_URL")
fi

log "building the services ($PROFILE)"
if [ "$PROFILE" = release ]; then scripts/build-release.sh; else cargo build --locked --bins; fi
BIN=target/$PROFILE

db() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"; }
start() {
  local name=$1; shift
  env "$@" RUST_LOG="${RUST_LOG:-info}" INTERNAL_TOKEN="$INTERNAL_TOKEN" nohup "$BIN/$name" >"$RUN/logs/$name.log" 2>&1 &
  echo $! > "$RUN/$name.pid"
}
if [ -n "$WITH_EVENTS" ]; then
  # First, so that its queue exists before the first event is published.
  log "starting the exporter"
  start exporter LISTEN_ADDR=$EXPORTER_ADDR DATABASE_URL="$(db exporter)" "${EVENTS_ENV[@]}"
  for _ in $(seq 1 100); do
    grep -q "exporter consuming" "$RUN/logs/exporter.log" 2>/dev/null && break
    sleep 0.2
  done
  grep -q "exporter consuming" "$RUN/logs/exporter.log" || log "the exporter is not consuming yet; see $RUN/logs/exporter.log"
fi
log "starting order-svc, payment-svc, delivery-svc, gateway"
start order-svc LISTEN_ADDR=$ORDER_ADDR DATABASE_URL="$(db order)" "${EVENTS_ENV[@]}"
start payment-svc LISTEN_ADDR=$PAYMENT_ADDR DATABASE_URL="$(db payment)"
start delivery-svc LISTEN_ADDR=$DELIVERY_ADDR DATABASE_URL="$(db delivery)" REDIS_URL="redis://127.0.0.1:$REDIS_PORT" "${EVENTS_ENV[@]}"
start gateway LISTEN_ADDR=$GATEWAY_GRPC HTTP_ADDR=$GATEWAY_HTTP DATABASE_URL="$(db gateway)" JWT_SECRET="$JWT_SECRET" \
  ORDER_SVC_URL=http://$ORDER_ADDR PAYMENT_SVC_URL=http://$PAYMENT_ADDR DELIVERY_SVC_URL=http://$DELIVERY_ADDR

for _ in $(seq 1 100); do
  curl -sf "http://$GATEWAY_HTTP/readyz" >/dev/null 2>&1 && break
  sleep 0.3
done
curl -sf "http://$GATEWAY_HTTP/readyz" >/dev/null || { tail -n 20 "$RUN"/logs/*.log >&2; die "the system did not become ready; logs in $RUN/logs"; }

DEMO_USER=$(cat "$RUN/demo_user" 2>/dev/null || true)
[ -n "$DEMO_USER" ] || { DEMO_USER=$(cat /proc/sys/kernel/random/uuid); echo "$DEMO_USER" > "$RUN/demo_user"; }
USER_TOKEN=$(JWT_SECRET=$JWT_SECRET "$BIN/shopctl" token --role user --sub "$DEMO_USER" --ttl 24h)
ADMIN_TOKEN=$(JWT_SECRET=$JWT_SECRET "$BIN/shopctl" token --role admin --ttl 24h)

if [ ! -s "$RUN/demo_product" ]; then
  log "seeding a demo product and 100000 points for the demo user"
  curl -sf -X POST "http://$GATEWAY_HTTP/v1/admin/products" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"Demo T-shirt","price":1500,"stock":100}' \
    | sed -E 's/.*"id":"([^"]+)".*/\1/' > "$RUN/demo_product"
  curl -sf -X POST "http://$GATEWAY_HTTP/v1/admin/wallets/$DEMO_USER/top-up" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: demo-seed-$DEMO_USER" -d '{"amount":100000}' >/dev/null
fi
DEMO_PRODUCT=$(cat "$RUN/demo_product")

cat > "$RUN/env" <<ENV
export GATEWAY_GRPC=$GATEWAY_GRPC GATEWAY_HTTP=$GATEWAY_HTTP
${WITH_EVENTS:+export AMQP_URL=$AMQP_URL}
export USER_TOKEN=$USER_TOKEN
export ADMIN_TOKEN=$ADMIN_TOKEN
export DEMO_USER=$DEMO_USER DEMO_PRODUCT=$DEMO_PRODUCT
ENV

cat <<INFO

The checkout system is up.
  gateway gRPC   $GATEWAY_GRPC   (shop.gateway.v1.ShopService, AdminService; health, reflection)
  gateway REST   http://$GATEWAY_HTTP   (OpenAPI: /v1/openapi.json, docs: /docs)
  in a browser   http://$GATEWAY_HTTP/ (storefront, paste the user token)   http://$GATEWAY_HTTP/admin (console, the admin token)
  order-svc      $ORDER_ADDR     payment-svc $PAYMENT_ADDR     delivery-svc $DELIVERY_ADDR
  PostgreSQL     127.0.0.1:$PG_PORT (databases order, payment, delivery, gateway)
  Redis          127.0.0.1:$REDIS_PORT
  metrics        http://127.0.0.1:9550/metrics (gateway), :9551 order, :9552 payment, :9553 delivery
  logs           $RUN/logs/    tokens and ids: source $RUN/env

Demo user $DEMO_USER (100000 points), demo product $DEMO_PRODUCT.
User token:  $USER_TOKEN
Admin token: $ADMIN_TOKEN

Try it:
  grpcurl -plaintext $GATEWAY_GRPC list
  grpcurl -plaintext -H 'authorization: Bearer $USER_TOKEN' -d '{"items":[{"product_id":"$DEMO_PRODUCT","quantity":1}],"delivery":{"recipient_name":"Kim","address":"1 Main St, Seoul","contact":"010-1234-5678"}}' $GATEWAY_GRPC shop.gateway.v1.ShopService/Checkout
  curl -s -H 'Authorization: Bearer $USER_TOKEN' http://$GATEWAY_HTTP/v1/orders
  grpcurl -plaintext -H 'authorization: Bearer $USER_TOKEN' -d '{"items":[{"product_id":"$DEMO_PRODUCT","quantity":1000}],"delivery":{"recipient_name":"Kim","address":"1 Main St, Seoul","contact":"010-1234-5678"}}' $GATEWAY_GRPC shop.gateway.v1.ShopService/Checkout
      (refused: the error details show reason: OUT_OF_STOCK)
  curl -s http://127.0.0.1:9550/metrics | grep '^shop_'

Stop it with: scripts/down.sh
INFO
if [ -n "$WITH_EVENTS" ]; then
  cat <<INFO
Events: RabbitMQ on 127.0.0.1:$AMQP_PORT (exchange shop.events), exporter health on $EXPORTER_ADDR,
its facts in database exporter (psql -h 127.0.0.1 -p $PG_PORT -U postgres exporter -c 'TABLE order_facts').
  source $RUN/env; $BIN/shopctl events tail              # every event as proto3 JSON
  source $RUN/env; $BIN/shopctl events dead-letters      # what the exporter gave up on
INFO
fi
