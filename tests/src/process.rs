//! The real `gateway` binary as a child process, configured only through the
//! environment variables of DESIGN.md, so a test can SIGKILL it mid-saga and start
//! another on the same database, as a crash and a restart would.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use tonic_health::pb::health_check_response::ServingStatus;

use crate::{Services, probe};

/// How long a new gateway may take to migrate, bind and answer health checks.
const START_PATIENCE: Duration = Duration::from_secs(30);

pub struct GatewayProcess {
    child: Child,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    log: PathBuf,
}

impl GatewayProcess {
    /// The binary: `SHOP_GATEWAY_BIN` when set, else `cargo build -p gateway --bin
    /// gateway` (once per test process; quick when it is up to date) and its output.
    /// Building it here is what keeps it current: `cargo test` builds only the test
    /// harness of a package's binary unless that package has integration tests, which
    /// the gateway does not, so `target/debug/gateway` may be missing or stale.
    pub async fn binary() -> anyhow::Result<PathBuf> {
        static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        if let Some(path) = std::env::var_os("SHOP_GATEWAY_BIN") {
            return Ok(PathBuf::from(path));
        }
        let built = tokio::task::spawn_blocking(|| BUILT.get_or_init(build).clone()).await?;
        built.map_err(|err| anyhow::anyhow!(err))
    }

    /// Starts the binary in front of `services` on the given addresses, with the
    /// gateway database of `services`, and waits until it reports SERVING.
    pub async fn spawn(
        services: &Services,
        grpc: SocketAddr,
        http: SocketAddr,
    ) -> anyhow::Result<Self> {
        let binary = Self::binary().await?;
        let log = std::env::temp_dir().join(format!(
            "shop-e2e-gateway-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let out = std::fs::File::create(&log)?;
        let err = out.try_clone()?;
        let window = format!("{}ms", services.options.payment_window.as_millis());
        let child = Command::new(&binary)
            .env("LISTEN_ADDR", grpc.to_string())
            .env("HTTP_ADDR", http.to_string())
            .env("DATABASE_URL", &services.databases.gateway)
            .env("ORDER_SVC_URL", services.order.url())
            .env("PAYMENT_SVC_URL", services.payment.url())
            .env("DELIVERY_SVC_URL", services.delivery.url())
            .env("JWT_SECRET", &services.jwt_secret)
            .env("PAYMENT_WINDOW", window)
            .env("RUST_LOG", "warn")
            .env_remove("INTERNAL_TOKEN")
            .env_remove("LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", binary.display()))?;
        let mut process = Self {
            child,
            grpc,
            http,
            log,
        };
        process.wait_until_serving().await?;
        Ok(process)
    }

    /// `http://127.0.0.1:port` of the gRPC face.
    pub fn url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// SIGKILL: no drain, no cleanup, in-flight sagas stop wherever they are.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last lines the process logged.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    async fn wait_until_serving(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + START_PATIENCE;
        loop {
            if let Some(exit) = self.child.try_wait()? {
                anyhow::bail!("the gateway exited at start ({exit}):\n{}", self.log_tail());
            }
            let url = self.url();
            let probe = tokio::time::timeout(Duration::from_secs(2), probe::health(&url, ""));
            if let Ok(Ok(ServingStatus::Serving)) = probe.await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                self.kill();
                anyhow::bail!(
                    "the gateway did not serve within {START_PATIENCE:?}:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("gateway log kept at {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Runs `cargo build -p gateway --bin gateway` in this workspace and returns the path
/// of the executable it reports.
fn build() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new(&cargo)
        .args([
            "build",
            "-p",
            "gateway",
            "--bin",
            "gateway",
            "--message-format=json",
        ])
        .current_dir(workspace)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| {
            format!("cannot run {cargo} to build the gateway binary ({err}); set SHOP_GATEWAY_BIN")
        })?;
    if !output.status.success() {
        return Err(format!(
            "`cargo build -p gateway --bin gateway` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == "gateway")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .filter(|path| path.is_file())
        .ok_or_else(|| "cargo built no gateway executable; set SHOP_GATEWAY_BIN".to_owned())
}
