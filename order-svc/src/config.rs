//! order-svc settings, parsed once at start.

use std::{net::SocketAddr, time::Duration};

use shop_common::{
    config::{self, ConfigError, EnvSource},
    db,
    secret::{Secret, secret},
    serving::Settings,
};

#[derive(Debug, Clone)]
pub struct Config {
    /// gRPC address (`LISTEN_ADDR`, default 127.0.0.1:50051).
    pub listen_addr: SocketAddr,
    /// Prometheus `/metrics` address (`METRICS_ADDR`, default 127.0.0.1:9551).
    pub metrics_addr: SocketAddr,
    /// The service's own database (`DATABASE_URL`); it may carry a password.
    pub database_url: Secret,
    /// Required bearer token on every OrderService call, when set.
    pub internal_token: Option<Secret>,
    /// How often the expiry sweeper looks for unpaid orders past `expires_at`.
    pub sweep_every: Duration,
    pub db_max_connections: u32,
    /// The event relay's broker (`AMQP_URL`); `None`: no relay, nothing published.
    pub events: Option<shop_events::RelayConfig>,
    /// Server-side bounds of every database session (`DB_*_TIMEOUT`).
    pub db_timeouts: db::Timeouts,
    /// Most unpaid orders (PENDING_PAYMENT or PAYMENT_IN_PROGRESS, not yet past their
    /// expiry) one user may have open (`MAX_OPEN_ORDERS`, default 10; 0: no limit).
    pub max_open_orders: u32,
    /// How long the outbox and the saga fences of finished orders are kept
    /// (`LOG_RETENTION`, default 30 days).
    pub log_retention: Duration,
    /// How often the retention job runs (not a setting: a minute; tests shorten it).
    pub retention_every: Duration,
}

impl Config {
    pub fn from_env(env: &dyn EnvSource) -> Result<Self, ConfigError> {
        let listen_addr = config::socket_addr(env, "LISTEN_ADDR", "127.0.0.1:50051")?;
        Ok(Self {
            listen_addr,
            metrics_addr: config::socket_addr(env, "METRICS_ADDR", "127.0.0.1:9551")?,
            database_url: config::required_secret(env, "DATABASE_URL")?,
            internal_token: config::internal_token(env, listen_addr)?,
            sweep_every: config::duration(env, "EXPIRY_SWEEP_EVERY", Duration::from_secs(1))?,
            db_max_connections: config::positive_u32(env, "DB_MAX_CONNECTIONS", 16)?,
            events: shop_events::RelayConfig::from_env(env)?,
            db_timeouts: db::Timeouts::from_env(env)?,
            max_open_orders: config::whole_u32(env, "MAX_OPEN_ORDERS", 10)?,
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
            sweep_every: Duration::from_millis(200),
            db_max_connections: 8,
            events: None,
            db_timeouts: db::Timeouts::default(),
            max_open_orders: 10,
            log_retention: 30 * DAY,
            retention_every: Duration::from_millis(200),
        }
    }
}

const DAY: Duration = Duration::from_secs(24 * 3600);
