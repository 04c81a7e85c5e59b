//! A private Redis server for tests.

use std::{process::Command, sync::OnceLock};

use crate::watchdog::Watchdog;

/// Serve on the given port without persistence, obey stop/start, stop on EOF. Like
/// every Redis of the project, it refuses writes at its memory limit rather than
/// evict keys (delivery holds must never silently disappear). It runs in a directory of
/// its own: a replica writes the RDB it receives from its master to disk.
const SCRIPT: &str = r#"
set -u
PORT="$1"
start() {
  redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --maxmemory-policy noeviction \
    --loglevel warning --logfile '' >/dev/null 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do
    redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  echo "redis-server did not start on port $PORT" >&2; return 1
}
stop() { kill -9 "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
start || exit 1
echo ready
while read -r cmd; do
  case "$cmd" in
    stop) stop; echo stopped ;;
    start) start && echo ready ;;
    quit) break ;;
  esac
done
stop
"#;

pub struct RedisServer {
    port: u16,
    watchdog: Watchdog,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a new private server (needs `redis-server` and `redis-cli` on PATH).
    pub fn start() -> anyhow::Result<Self> {
        let port = crate::free_port();
        let dir = tempfile::tempdir()?;
        let mut command = Command::new("sh");
        command
            .args(["-c", SCRIPT, "sh"])
            .arg(port.to_string())
            .current_dir(dir.path());
        let watchdog = Watchdog::spawn("redis", command)?;
        Ok(Self {
            port,
            watchdog,
            _dir: dir,
        })
    }

    /// One server per test process, started on first use. Tests share it safely
    /// because every key they touch contains a fresh UUID.
    pub fn shared() -> &'static RedisServer {
        static SHARED: OnceLock<RedisServer> = OnceLock::new();
        SHARED.get_or_init(|| {
            Self::start().unwrap_or_else(|err| panic!("cannot start test redis: {err:#}"))
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL): every key is lost, as in a crash without persistence.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.watchdog.command("stop", "stopped")
    }

    /// Starts it again, empty, on the same port.
    pub fn start_again(&self) -> anyhow::Result<()> {
        self.watchdog.command("start", "ready")
    }
}
