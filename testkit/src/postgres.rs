//! A private PostgreSQL server for tests.

use std::{path::PathBuf, process::Command, sync::OnceLock};

use sqlx::{Connection, Executor, PgConnection};

use crate::watchdog::Watchdog;

/// initdb into a temp dir, serve on the given port, obey stop/start, clean up on EOF.
/// Tuned for tests: no fsync, no synchronous commit.
const SCRIPT: &str = r#"
set -u
BIN="$1"; PORT="$2"
DIR=$(mktemp -d /tmp/shop-test-pg.XXXXXX) || exit 1
trap 'rm -rf "$DIR"' EXIT
if ! "$BIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1; then
  cat "$DIR/initdb.log" >&2; exit 1
fi
start() {
  "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null || { cat "$DIR/server.log" >&2; return 1; }
}
stop() { "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1; }
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

pub struct PgServer {
    port: u16,
    watchdog: Watchdog,
}

impl PgServer {
    /// Starts a new private server (about a second). Needs PostgreSQL's server
    /// binaries: `PG_BIN`, else `pg_config --bindir`, else /usr/lib/postgresql/<newest>/bin.
    pub fn start() -> anyhow::Result<Self> {
        let bin = bin_dir()?;
        let port = crate::free_port();
        let mut command = if running_as_root() {
            // initdb and postgres refuse to run as root.
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", SCRIPT, "sh"]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", SCRIPT, "sh"]);
            c
        };
        command.arg(&bin).arg(port.to_string()).current_dir("/tmp");
        let watchdog = Watchdog::spawn("postgres", command)?;
        Ok(Self { port, watchdog })
    }

    /// One server per test process, started on first use.
    pub fn shared() -> &'static PgServer {
        static SHARED: OnceLock<PgServer> = OnceLock::new();
        SHARED.get_or_init(|| {
            Self::start().unwrap_or_else(|err| panic!("cannot start test postgres: {err:#}"))
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates an empty database with a unique name and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&self.url("postgres"))
            .await
            .unwrap_or_else(|err| panic!("cannot reach test postgres: {err}"));
        admin
            .execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await
            .unwrap_or_else(|err| panic!("cannot create database {name}: {err}"));
        let _ = admin.close().await;
        self.url(&name)
    }

    /// Stops the server at once, as a crash would (`pg_ctl -m immediate`).
    pub fn stop(&self) -> anyhow::Result<()> {
        self.watchdog.command("stop", "stopped")
    }

    /// Starts it again on the same port with the same data.
    pub fn start_again(&self) -> anyhow::Result<()> {
        self.watchdog.command("start", "ready")
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|dir| dir.join("initdb").exists());
    versions.sort_by_key(|dir| {
        dir.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().ok_or_else(|| {
        anyhow::anyhow!("PostgreSQL server binaries not found: run scripts/setup.sh or set PG_BIN")
    })
}
