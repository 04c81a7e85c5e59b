//! The real binaries as child processes, configured only through the environment
//! variables of DESIGN.md, so a test can SIGKILL one mid-saga (or pause it with
//! SIGSTOP) and start another on the same database, as a crash and a restart would.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use tonic_health::pb::health_check_response::ServingStatus;

use crate::{Options, Services, Wiring, probe};

/// How long a new process may take to migrate, bind and answer health checks.
const START_PATIENCE: Duration = Duration::from_secs(30);

/// The four binaries of the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binary {
    Order,
    Payment,
    Delivery,
    Gateway,
}

impl Binary {
    pub const ALL: [Binary; 4] = [
        Binary::Order,
        Binary::Payment,
        Binary::Delivery,
        Binary::Gateway,
    ];

    /// The package and binary name.
    pub fn name(self) -> &'static str {
        match self {
            Binary::Order => "order-svc",
            Binary::Payment => "payment-svc",
            Binary::Delivery => "delivery-svc",
            Binary::Gateway => "gateway",
        }
    }

    /// `SHOP_ORDER_SVC_BIN` and so on: a prebuilt executable to use instead.
    fn override_variable(self) -> String {
        format!("SHOP_{}_BIN", self.name().to_uppercase().replace('-', "_"))
    }

    /// The executable: the override variable when set, else `cargo build` of the four
    /// binaries (once per test process; quick when up to date) and its output.
    /// Building here is what keeps them current: `cargo test` builds a package's
    /// binaries only for that package's own integration tests, so `target/debug/*`
    /// may be missing or stale.
    pub async fn path(self) -> anyhow::Result<PathBuf> {
        static BUILT: OnceLock<Result<HashMap<Binary, PathBuf>, String>> = OnceLock::new();
        if let Some(path) = std::env::var_os(self.override_variable()) {
            return Ok(PathBuf::from(path));
        }
        let built = tokio::task::spawn_blocking(|| BUILT.get_or_init(build).clone()).await?;
        let built = built.map_err(|err| anyhow::anyhow!(err))?;
        built
            .get(&self)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("cargo built no {} executable", self.name()))
    }
}

/// One running binary.
pub struct Process {
    binary: Binary,
    child: Child,
    /// Its gRPC address.
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Process {
    /// Starts `binary` with `LISTEN_ADDR=addr` and `env` (nothing else is inherited
    /// from the test's own settings) and waits until it reports SERVING.
    pub async fn spawn(
        binary: Binary,
        addr: SocketAddr,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let path = binary.path().await?;
        let log = std::env::temp_dir().join(format!(
            "shop-e2e-{}-{}.log",
            binary.name(),
            uuid::Uuid::new_v4().simple()
        ));
        let out = std::fs::File::create(&log)?;
        let err = out.try_clone()?;
        let mut command = Command::new(&path);
        command
            .env("LISTEN_ADDR", addr.to_string())
            // Any free port: two binaries of one test must not both take the default.
            .env("METRICS_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .env_remove("INTERNAL_TOKEN")
            .env_remove("LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", path.display()))?;
        let mut process = Self {
            binary,
            child,
            addr,
            log,
        };
        process.wait_until_serving().await?;
        Ok(process)
    }

    /// `http://127.0.0.1:port` of its gRPC face.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn binary(&self) -> Binary {
        self.binary
    }

    /// SIGKILL: no drain, no cleanup; work in flight stops wherever it is.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (bounded) for the graceful drain; SIGKILL if it takes longer.
    pub async fn terminate(&mut self, patience: Duration) {
        self.signal("TERM");
        let deadline = tokio::time::Instant::now() + patience;
        while tokio::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill();
    }

    /// SIGSTOP: the process is frozen mid-whatever (its sockets stay open), as a long
    /// GC pause, a stalled VM or a debugger would freeze it.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// SIGCONT after [`Process::pause`].
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("kill -{name} {} failed", self.child.id());
        }
    }

    /// The last lines the process logged.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    async fn wait_until_serving(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + START_PATIENCE;
        let name = self.binary.name();
        let url = self.url();
        loop {
            if let Some(exit) = self.child.try_wait()? {
                anyhow::bail!("{name} exited at start ({exit}):\n{}", self.log_tail());
            }
            let probe = tokio::time::timeout(Duration::from_secs(2), probe::health(&url, ""));
            if let Ok(Ok(ServingStatus::Serving)) = probe.await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                self.kill();
                anyhow::bail!(
                    "{name} did not serve within {START_PATIENCE:?}:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A paused process ignores SIGKILL's reaping until it runs again.
        self.resume();
        self.kill();
        if std::thread::panicking() {
            eprintln!("{} log kept at {}", self.binary.name(), self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// The real `gateway` binary in front of a [`Services`].
pub struct GatewayProcess {
    process: Process,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
}

impl GatewayProcess {
    /// Starts the gateway binary in front of `services` on the given addresses, with
    /// the gateway database of `services`, and waits until it reports SERVING.
    pub async fn spawn(
        services: &Services,
        grpc: SocketAddr,
        http: SocketAddr,
    ) -> anyhow::Result<Self> {
        let env = gateway_env(&services.gateway_wiring(), http);
        Self::spawn_with(grpc, http, &env).await
    }

    /// Starts the gateway binary with exactly `env` (see [`gateway_env`]).
    pub async fn spawn_with(
        grpc: SocketAddr,
        http: SocketAddr,
        env: &[(&'static str, String)],
    ) -> anyhow::Result<Self> {
        let process = Process::spawn(Binary::Gateway, grpc, env).await?;
        Ok(Self {
            process,
            grpc,
            http,
        })
    }

    /// `http://127.0.0.1:port` of the gRPC face.
    pub fn url(&self) -> String {
        self.process.url()
    }

    /// SIGKILL: no drain, no cleanup, in-flight sagas stop wherever they are.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    pub fn process(&self) -> &Process {
        &self.process
    }

    pub fn process_mut(&mut self) -> &mut Process {
        &mut self.process
    }

    /// The last lines the process logged.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }
}

/// What a gateway binary is connected to.
pub struct GatewayWiring {
    pub database_url: String,
    pub jwt_secret: String,
    pub payment_window: Duration,
    /// order-svc, payment-svc, delivery-svc: their own addresses, or proxies.
    pub urls: [String; 3],
}

/// The environment of a gateway binary serving REST on `http`.
pub fn gateway_env(wiring: &GatewayWiring, http: SocketAddr) -> Vec<(&'static str, String)> {
    let [order, payment, delivery] = wiring.urls.clone();
    vec![
        ("HTTP_ADDR", http.to_string()),
        ("DATABASE_URL", wiring.database_url.clone()),
        ("ORDER_SVC_URL", order),
        ("PAYMENT_SVC_URL", payment),
        ("DELIVERY_SVC_URL", delivery),
        ("JWT_SECRET", wiring.jwt_secret.clone()),
        (
            "PAYMENT_WINDOW",
            format!("{}ms", wiring.payment_window.as_millis()),
        ),
    ]
}

/// The environment of an internal service binary (not the gateway) on the databases
/// and Redis of `wired`.
pub fn service_env(
    binary: Binary,
    wired: &Wiring,
    options: &Options,
) -> Vec<(&'static str, String)> {
    let databases = &wired.databases;
    match binary {
        Binary::Order => vec![("DATABASE_URL", databases.order.clone())],
        Binary::Payment => vec![("DATABASE_URL", databases.payment.clone())],
        Binary::Delivery => vec![
            ("DATABASE_URL", databases.delivery.clone()),
            ("REDIS_URL", wired.redis_url.clone()),
            (
                "AUTO_RECEIVE_AFTER",
                format!("{}ms", options.auto_receive_after.as_millis()),
            ),
        ],
        Binary::Gateway => Vec::new(),
    }
}

/// Runs `cargo build` of the four binaries in this workspace and returns the path of
/// each executable it reports.
fn build() -> Result<HashMap<Binary, PathBuf>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut args = vec!["build".to_owned(), "--message-format=json".to_owned()];
    for binary in Binary::ALL {
        args.extend(["-p".to_owned(), binary.name().to_owned()]);
        args.extend(["--bin".to_owned(), binary.name().to_owned()]);
    }
    let output = Command::new(&cargo)
        .args(&args)
        .current_dir(workspace)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| {
            format!("cannot run {cargo} to build the binaries ({err}); set SHOP_*_BIN")
        })?;
    if !output.status.success() {
        return Err(format!(
            "`cargo {}` failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut built = HashMap::new();
    for message in String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
    {
        let Some(binary) = Binary::ALL
            .into_iter()
            .find(|b| message["target"]["name"] == b.name())
        else {
            continue;
        };
        if let Some(path) = message["executable"].as_str().map(PathBuf::from)
            && path.is_file()
        {
            built.insert(binary, path);
        }
    }
    Ok(built)
}
