//! What the benchmark runs against (a running system on loopback) and how long and
//! how hard it runs (the plan of a full, smoke or test run).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use shop_e2e::Databases;

use crate::cost::{self, Probe};

/// A running checkout system reachable on 127.0.0.1.
#[derive(Clone)]
pub struct Target {
    /// `http://127.0.0.1:port` of the gateway's gRPC face.
    pub gateway_grpc: String,
    pub gateway_http: SocketAddr,
    /// `http://127.0.0.1:port` of a service whose health Check is the echo RPC.
    pub echo_grpc: String,
    pub jwt_secret: String,
    pub databases: Databases,
    pub redis_url: String,
    /// The tools for the Postgres and Redis primitives, when installed.
    pub tools: Option<Tools>,
    /// Where this build's costs are read (its processes and databases).
    pub probe: Probe,
}

/// pgbench and redis-benchmark against the system's own Postgres and Redis.
#[derive(Clone)]
pub struct Tools {
    /// PostgreSQL's bin directory (pgbench).
    pub pg_bin: PathBuf,
    pub pg_port: u16,
    /// A scratch database for the single-row UPDATE (created if missing).
    pub scratch_db: String,
    pub redis_port: u16,
}

impl Target {
    /// This build, from the `BENCH_*` variables that `scripts/bench.sh` sets.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_env_prefixed("BENCH_")
    }

    /// The baseline build of `scripts/bench.sh --baseline`, from its `BENCH_BASELINE_*`
    /// variables, when they are set. It shares this build's Postgres and Redis servers
    /// (its own databases and Redis database) and JWT secret.
    pub fn baseline_from_env() -> anyhow::Result<Option<Self>> {
        if std::env::var_os("BENCH_BASELINE_GATEWAY_GRPC").is_none() {
            return Ok(None);
        }
        Self::from_env_prefixed("BENCH_BASELINE_").map(Some)
    }

    fn from_env_prefixed(prefix: &str) -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).with_context(|| format!("missing {name}"));
        let own = |name: &str| var(&format!("{prefix}{name}"));
        let loopback = |name: &str| -> anyhow::Result<SocketAddr> {
            let addr: SocketAddr = own(name)?
                .parse()
                .with_context(|| format!("{prefix}{name} must be 127.0.0.1:port"))?;
            anyhow::ensure!(
                addr.ip().is_loopback(),
                "{prefix}{name} must be a loopback address"
            );
            Ok(addr)
        };
        let pg_port: u16 = var("BENCH_PG_PORT")?.parse().context("BENCH_PG_PORT")?;
        let redis_port: u16 = var("BENCH_REDIS_PORT")?
            .parse()
            .context("BENCH_REDIS_PORT")?;
        let db_prefix = own("DB_PREFIX").unwrap_or_default();
        let db = |name: &str| format!("postgres://postgres@127.0.0.1:{pg_port}/{name}");
        let named = |name: &str| db(&format!("{db_prefix}{name}"));
        let redis_db = own("REDIS_DB").unwrap_or_else(|_| "0".into());
        let processes = match own("PIDS") {
            Ok(raw) => cost::parse_pids(&raw).with_context(|| format!("{prefix}PIDS"))?,
            Err(_) => Vec::new(),
        };
        let databases = Databases {
            order: named("order"),
            payment: named("payment"),
            delivery: named("delivery"),
            gateway: named("gateway"),
        };
        Ok(Self {
            gateway_grpc: format!("http://{}", loopback("GATEWAY_GRPC")?),
            gateway_http: loopback("GATEWAY_HTTP")?,
            echo_grpc: format!("http://{}", loopback("ECHO_GRPC")?),
            jwt_secret: var("BENCH_JWT_SECRET")?,
            probe: Probe::new(processes, db("bench"), &databases),
            databases,
            redis_url: format!("redis://127.0.0.1:{redis_port}/{redis_db}"),
            tools: Some(Tools {
                pg_bin: PathBuf::from(var("PG_BIN")?),
                pg_port,
                scratch_db: db("bench"),
                redis_port,
            }),
        })
    }
}

/// How much a run does.
#[derive(Debug, Clone)]
pub struct Plan {
    pub mode: &'static str,
    pub concurrencies: Vec<usize>,
    /// Unmeasured load before each measured checkout run.
    pub warmup: Duration,
    /// Measured time of each checkout run (per build).
    pub checkout_time: Duration,
    /// Slices each checkout run is cut into, taken in turns with the other builds.
    pub rounds: usize,
    /// Measured time of each primitive (echo, floor) run.
    pub primitive_time: Duration,
    /// Products in the catalog the shoppers pick from.
    pub products: usize,
    pub hot_buyers: usize,
    pub hot_stock: i32,
    pub rest: bool,
}

impl Plan {
    /// The documented benchmark (about five minutes on two cores).
    pub fn full() -> Self {
        Self {
            mode: "full",
            concurrencies: vec![1, 16, 64],
            warmup: Duration::from_secs(2),
            checkout_time: Duration::from_secs(15),
            rounds: 3,
            primitive_time: Duration::from_secs(5),
            products: 500,
            hot_buyers: 200,
            hot_stock: 50,
            rest: true,
        }
    }

    /// `scripts/bench.sh --smoke`: everything once, for a few seconds.
    pub fn smoke() -> Self {
        Self {
            mode: "smoke",
            concurrencies: vec![1, 4],
            warmup: Duration::ZERO,
            checkout_time: Duration::from_secs(2),
            rounds: 2,
            primitive_time: Duration::from_secs(1),
            products: 20,
            hot_buyers: 20,
            hot_stock: 5,
            rest: true,
        }
    }

    /// The CI smoke test: concurrency 2 for about two seconds.
    pub fn test() -> Self {
        Self {
            mode: "test",
            concurrencies: vec![2],
            warmup: Duration::ZERO,
            checkout_time: Duration::from_secs(2),
            rounds: 2,
            primitive_time: Duration::from_millis(500),
            products: 10,
            hot_buyers: 10,
            hot_stock: 4,
            rest: true,
        }
    }

    pub fn most_shoppers(&self) -> usize {
        self.concurrencies.iter().copied().max().unwrap_or(1)
    }
}

/// Most clients one level may have (each is a user with its own connection).
const MAX_CLIENTS: usize = 1024;

/// `BENCH_CLIENTS`: client counts separated by commas, each 1 to [`MAX_CLIENTS`].
pub fn parse_clients(raw: &str) -> anyhow::Result<Vec<usize>> {
    raw.split(',')
        .map(|n| match n.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_CLIENTS).contains(&n) => Ok(n),
            _ => {
                anyhow::bail!("BENCH_CLIENTS: {n:?} is not a client count from 1 to {MAX_CLIENTS}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_counts() {
        assert_eq!(parse_clients("1, 16,256").ok(), Some(vec![1, 16, 256]));
        assert!(parse_clients("0").is_err());
        assert!(parse_clients("16,x").is_err());
        assert!(parse_clients("5000").is_err());
    }
}
