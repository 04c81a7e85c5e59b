//! The real `gateway` binary as a child process, configured only through the
//! environment variables of DESIGN.md, so a test can SIGKILL it mid-saga and start
//! another on the same database, as a crash and a restart would.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
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
    /// Where the binary is: `SHOP_GATEWAY_BIN`, else beside this test binary's
    /// directory (`target/debug/gateway`), else `target/debug/gateway` of the workspace.
    /// `cargo test --workspace` builds it; `cargo test -p shop-e2e` alone does not.
    pub fn binary() -> anyhow::Result<PathBuf> {
        if let Some(path) = std::env::var_os("SHOP_GATEWAY_BIN") {
            return Ok(PathBuf::from(path));
        }
        let mut candidates = Vec::new();
        if let Ok(exe) = std::env::current_exe() {
            // target/debug/deps/e2e-<hash> -> target/debug/gateway
            if let Some(profile) = exe.parent().and_then(|deps| deps.parent()) {
                candidates.push(profile.join("gateway"));
            }
        }
        candidates.push(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/debug/gateway"
        )));
        candidates
            .iter()
            .find(|path| path.is_file())
            .cloned()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the gateway binary is missing (looked at {candidates:?}): build it with \
                     `cargo build -p gateway` (`cargo test --workspace` does), or set SHOP_GATEWAY_BIN"
                )
            })
    }

    /// Starts the binary in front of `services` on the given addresses, with the
    /// gateway database of `services`, and waits until it reports SERVING.
    pub async fn spawn(
        services: &Services,
        grpc: SocketAddr,
        http: SocketAddr,
    ) -> anyhow::Result<Self> {
        let binary = Self::binary()?;
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
