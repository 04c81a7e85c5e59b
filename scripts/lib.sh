# Shared by the scripts in this folder: installing and starting what the system needs.
# Sourced, not run.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root to run: $*"; fi
}

# The directory of PostgreSQL's server binaries (initdb, pg_ctl), or nothing.
pg_bin_dir() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then echo "$PG_BIN"; return; fi
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Installs PostgreSQL, Redis and curl from the distribution when they are missing.
ensure_packages() {
  local missing=()
  [ -n "$(pg_bin_dir)" ] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "please install: ${missing[*]}"
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (rustup), see README"
}

# grpcurl for the printed examples: the Go original if present, else the Rust port
# from crates.io (a few minutes to build, once).
ensure_grpcurl() {
  command -v grpcurl >/dev/null && return 0
  [ -x "$HOME/.cargo/bin/grpcurl" ] && return 0
  log "installing grpcurl (grpcurl-rs from crates.io; first time only)"
  cargo install --quiet --locked grpcurl-rs >/dev/null 2>&1 || log "could not install grpcurl; the grpcurl example will need it"
}

# Runs a command as the postgres user when we are root (initdb and postgres refuse root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres DATADIR PORT: initializes once, then starts on 127.0.0.1:PORT.
start_postgres() {
  local data=$1 port=$2 bin
  bin=$(pg_bin_dir)
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initializing PostgreSQL in $data"
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres: "$data" && chmod 700 "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
  fi
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "PostgreSQL already running"
  else
    log "starting PostgreSQL on 127.0.0.1:$port"
    as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
  fi
}

stop_postgres() {
  local data=$1 bin
  bin=$(pg_bin_dir)
  [ -f "$data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

# create_databases PORT NAME...: creates each database unless it exists.
create_databases() {
  local port=$1; shift
  for db in "$@"; do
    if ! psql -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      createdb -h 127.0.0.1 -p "$port" -U postgres "$db"
    fi
  done
}

# start_redis DIR PORT
start_redis() {
  local dir port=$2
  mkdir -p "$1"
  dir=$(cd "$1" && pwd)   # absolute: redis-server changes into --dir first
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    log "Redis already running"
  else
    log "starting Redis on 127.0.0.1:$port"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$dir" \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' --appendonly yes >/dev/null
    for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
    die "Redis did not start; see $dir/redis.log"
  fi
}

stop_redis() {
  redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true
}

# RabbitMQ (Debian's rabbitmq-server) for the events tests and `up.sh --with-events`.
rabbitmq_server() { echo "${RABBITMQ_SERVER:-/usr/lib/rabbitmq/bin/rabbitmq-server}"; }

# Installs rabbitmq-server when it is missing, without starting the machine-wide
# broker (RUNLEVEL=1 keeps the package's scripts from starting it): the tests and
# up.sh run private nodes.
ensure_rabbitmq() {
  [ -x "$(rabbitmq_server)" ] && return 0
  command -v apt-get >/dev/null || die "please install rabbitmq-server"
  log "installing rabbitmq-server"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq rabbitmq-server >/dev/null
}

# start_rabbitmq DIR PORT: a private node on 127.0.0.1:PORT (distribution on PORT+1),
# its data, logs and cookie under DIR.
start_rabbitmq() {
  local dir port=$2
  mkdir -p "$1"
  dir=$(cd "$1" && pwd)
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "RabbitMQ already running"
    return 0
  fi
  log "starting RabbitMQ on 127.0.0.1:$port"
  echo '[].' > "$dir/enabled_plugins"
  HOME="$dir" ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_NODENAME="shop$port@localhost" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT=$((port + 1)) \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONFIG_FILE="$dir/rabbitmq" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
    RABBITMQ_PID_FILE="$dir/rabbitmq.pid" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    setsid nohup "$(rabbitmq_server)" >"$dir/server.log" 2>&1 </dev/null &
  echo $! > "$dir/server.pid"
  # The AMQP listener opens last, once the broker has booted.
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.2
  done
  die "RabbitMQ did not start; see $dir/server.log"
}

# stop_rabbitmq DIR: stops the node start_rabbitmq started there (SIGTERM: it drains).
stop_rabbitmq() {
  local pidfile=$1/server.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
}
