//! A private RabbitMQ node for tests.
//!
//! Each node has its own name, ports (AMQP, Erlang distribution, and its own `epmd`),
//! data directory and cookie under a temp dir, all on 127.0.0.1, so it neither sees nor
//! disturbs a broker the machine already runs. About seven seconds to start.

use std::{path::PathBuf, process::Command, sync::OnceLock};

use crate::watchdog::Watchdog;

/// Runs `rabbitmq-server` in the foreground of its own process group, obeys stop
/// (SIGKILL, as a crash) / start (same data: durable queues and persistent messages
/// come back), and removes everything on EOF.
const SCRIPT: &str = r#"
set -u
SERVER="$1"; PORT="$2"; DIST="$3"; EPMD="$4"
DIR=$(mktemp -d /tmp/shop-test-rabbitmq.XXXXXX) || exit 1
echo '[].' > "$DIR/enabled_plugins"
cat > "$DIR/rabbitmq.conf" <<CONF
disk_free_limit.absolute = 10MB
CONF
export HOME="$DIR" ERL_EPMD_PORT="$EPMD" ERL_EPMD_ADDRESS=127.0.0.1 \
  RABBITMQ_NODENAME="shoptest$PORT@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
  RABBITMQ_NODE_PORT="$PORT" RABBITMQ_DIST_PORT="$DIST" \
  RABBITMQ_MNESIA_BASE="$DIR/mnesia" RABBITMQ_LOG_BASE="$DIR/log" RABBITMQ_LOGS=- \
  RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins" RABBITMQ_CONFIG_FILE="$DIR/rabbitmq" \
  RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/advanced.config" \
  RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf" RABBITMQ_PID_FILE="$DIR/pid" \
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
epmd -port "$EPMD" >/dev/null 2>&1 &
EPMD_PID=$!
PID=
stop() {
  if [ -n "$PID" ]; then kill -9 "-$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=; fi
}
trap 'stop; kill "$EPMD_PID" 2>/dev/null; wait "$EPMD_PID" 2>/dev/null; rm -rf "$DIR"' EXIT
start() {
  : > "$DIR/server.log"
  setsid "$SERVER" >>"$DIR/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 1200); do
    grep -q "Server startup complete" "$DIR/server.log" && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "rabbitmq-server did not start on port $PORT:" >&2
  tail -n 40 "$DIR/server.log" >&2
  return 1
}
start || exit 1
echo ready
while read -r cmd; do
  case "$cmd" in
    stop) stop; echo stopped ;;
    start) start && echo ready ;;
    quit) break ;;
  esac
done
"#;

pub struct RabbitServer {
    port: u16,
    watchdog: Watchdog,
}

impl RabbitServer {
    /// Starts a new private node. Needs RabbitMQ's server: `RABBITMQ_SERVER`, else
    /// Debian's `/usr/lib/rabbitmq/bin/rabbitmq-server` (scripts/test.sh installs it).
    pub fn start() -> anyhow::Result<Self> {
        let server = server_script()?;
        let (port, dist, epmd) = (crate::free_port(), crate::free_port(), crate::free_port());
        let mut command = Command::new("sh");
        command
            .args(["-c", SCRIPT, "sh"])
            .arg(&server)
            .args([port.to_string(), dist.to_string(), epmd.to_string()])
            .current_dir("/tmp");
        let watchdog = Watchdog::spawn("rabbitmq", command)?;
        Ok(Self { port, watchdog })
    }

    /// One node per test process, started on first use, for tests that neither stop
    /// the broker nor mind other tests' messages on `shop.events`.
    pub fn shared() -> &'static RabbitServer {
        static SHARED: OnceLock<RabbitServer> = OnceLock::new();
        SHARED.get_or_init(|| {
            Self::start().unwrap_or_else(|err| panic!("cannot start test rabbitmq: {err:#}"))
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `amqp://guest:guest@127.0.0.1:port/%2f` (guest may log in over loopback).
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Kills the node (SIGKILL), as a crash would; what it had on disk stays. RabbitMQ
    /// 3.10 writes a new quorum queue's registration to disk about 3 s after declaring
    /// it: a queue younger than that does not survive the kill.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.watchdog.command("stop", "stopped")
    }

    /// Starts it again on the same port with the same data.
    pub fn start_again(&self) -> anyhow::Result<()> {
        self.watchdog.command("start", "ready")
    }
}

fn server_script() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("RABBITMQ_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/rabbitmq/bin/rabbitmq-server"));
    if path.exists() {
        Ok(path)
    } else {
        anyhow::bail!(
            "RabbitMQ not found at {}: run scripts/test.sh (installs rabbitmq-server) or set RABBITMQ_SERVER",
            path.display()
        )
    }
}
