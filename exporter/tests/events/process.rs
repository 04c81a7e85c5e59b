//! The real `order-svc` binary as a child process, so a test can SIGKILL its relay
//! mid-publish, as a crash would. Its own rather than `shop_e2e::process`: the test
//! needs the child's pid (the relay lock names it) and several at once (so the metrics
//! port is 0).

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use tonic_health::pb::health_check_response::ServingStatus;

const START_PATIENCE: Duration = Duration::from_secs(30);

pub struct OrderSvcProcess {
    child: Child,
    log: PathBuf,
}

impl OrderSvcProcess {
    /// Starts `order-svc` on `database_url` with `AMQP_URL` and waits until it serves.
    pub async fn spawn(database_url: &str, amqp_url: &str) -> anyhow::Result<Self> {
        let binary = binary().await?;
        let addr = SocketAddr::from(([127, 0, 0, 1], shop_testkit::free_port()));
        let log = std::env::temp_dir().join(format!(
            "shop-events-order-svc-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(&binary)
            .env("LISTEN_ADDR", addr.to_string())
            .env("METRICS_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", database_url)
            .env("AMQP_URL", amqp_url)
            .env("RELAY_POLL_EVERY", "50ms")
            .env("DB_MAX_CONNECTIONS", "4")
            .env("RUST_LOG", "warn,order_svc=info,shop_events=info")
            .env_remove("INTERNAL_TOKEN")
            .env_remove("LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", binary.display()))?;
        let mut process = Self { child, log };
        let url = format!("http://{addr}");
        let deadline = tokio::time::Instant::now() + START_PATIENCE;
        loop {
            if let Some(exit) = process.child.try_wait()? {
                anyhow::bail!(
                    "order-svc exited at start ({exit}):\n{}",
                    process.log_tail()
                );
            }
            let probe =
                tokio::time::timeout(Duration::from_secs(2), shop_e2e::probe::health(&url, ""));
            if let Ok(Ok(ServingStatus::Serving)) = probe.await {
                return Ok(process);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("order-svc did not serve in time:\n{}", process.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no drain, no goodbye to the broker or Postgres.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for OrderSvcProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("order-svc log kept at {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// `SHOP_ORDER_SVC_BIN`, else `cargo build -p order-svc --bin order-svc` (once per test
/// process) and the executable it reports.
async fn binary() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    if let Some(path) = std::env::var_os("SHOP_ORDER_SVC_BIN") {
        return Ok(PathBuf::from(path));
    }
    let built = tokio::task::spawn_blocking(|| BUILT.get_or_init(build).clone()).await?;
    built.map_err(|err| anyhow::anyhow!(err))
}

fn build() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(&cargo)
        .args([
            "build",
            "-p",
            "order-svc",
            "--bin",
            "order-svc",
            "--message-format=json",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run {cargo} ({err}); set SHOP_ORDER_SVC_BIN"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo build -p order-svc` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == "order-svc")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .filter(|path| path.is_file())
        .ok_or_else(|| "cargo built no order-svc executable; set SHOP_ORDER_SVC_BIN".to_owned())
}
