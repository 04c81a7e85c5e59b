//! payment-svc settings, parsed once at start.

use std::{net::SocketAddr, time::Duration};

use shop_common::{
    config::{self, ConfigError, EnvSource},
    db,
    secret::{Secret, secret},
    serving::Settings,
};

#[derive(Debug, Clone)]
pub struct Config {
    /// gRPC address (`LISTEN_ADDR`, default 127.0.0.1:50052).
    pub listen_addr: SocketAddr,
    /// Prometheus `/metrics` address (`METRICS_ADDR`, default 127.0.0.1:9552).
    pub metrics_addr: SocketAddr,
    /// The service's own database (`DATABASE_URL`); it may carry a password.
    pub database_url: Secret,
    /// Required bearer token on every PaymentService call, when set.
    pub internal_token: Option<Secret>,
    pub db_max_connections: u32,
    /// Server-side bounds of every database session (`DB_*_TIMEOUT`).
    pub db_timeouts: db::Timeouts,
    /// How long moot saga fences are kept (`LOG_RETENTION`, default 30 days).
    pub log_retention: Duration,
    /// How often the retention job runs (not a setting: a minute; tests shorten it).
    pub retention_every: Duration,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

impl Config {
    pub fn from_env(env: &dyn EnvSource) -> Result<Self, ConfigError> {
        let listen_addr = config::socket_addr(env, "LISTEN_ADDR", "127.0.0.1:50052")?;
        Ok(Self {
            listen_addr,
            metrics_addr: config::socket_addr(env, "METRICS_ADDR", "127.0.0.1:9552")?,
            database_url: config::required_secret(env, "DATABASE_URL")?,
            internal_token: config::internal_token(env, listen_addr)?,
            db_max_connections: config::positive_u32(env, "DB_MAX_CONNECTIONS", 16)?,
            db_timeouts: db::Timeouts::from_env(env)?,
            log_retention: config::duration(env, "LOG_RETENTION", 30 * DAY)?,
            retention_every: Duration::from_secs(60),
        })
    }

    /// What the shared serving piece binds: addresses and the database.
    pub fn serving(&self) -> Settings<'_> {
        Settings {
            listen_addr: self.listen_addr,
            metrics_addr: self.metrics_addr,
            database_url: &self.database_url,
            db_max_connections: self.db_max_connections,
            db_timeouts: self.db_timeouts,
        }
    }

    /// Settings for tests: port 0 and the given database.
    pub fn for_tests(database_url: String) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: secret(database_url),
            internal_token: None,
            db_max_connections: 8,
            db_timeouts: db::Timeouts::default(),
            log_retention: 30 * DAY,
            retention_every: Duration::from_millis(200),
        }
    }
}
