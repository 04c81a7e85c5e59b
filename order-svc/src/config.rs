//! order-svc settings, parsed once at start.

use std::{net::SocketAddr, time::Duration};

use shop_common::config::{self, ConfigError, EnvSource};

#[derive(Debug, Clone)]
pub struct Config {
    /// gRPC address (`LISTEN_ADDR`, default 127.0.0.1:50051).
    pub listen_addr: SocketAddr,
    /// Prometheus `/metrics` address (`METRICS_ADDR`, default 127.0.0.1:9551).
    pub metrics_addr: SocketAddr,
    pub database_url: String,
    /// Required bearer token on every OrderService call, when set.
    pub internal_token: Option<String>,
    /// How often the expiry sweeper looks for unpaid orders past `expires_at`.
    pub sweep_every: Duration,
    pub db_max_connections: u32,
    /// The event relay's broker (`AMQP_URL`); `None`: no relay, nothing published.
    pub events: Option<shop_events::RelayConfig>,
}

impl Config {
    pub fn from_env(env: &dyn EnvSource) -> Result<Self, ConfigError> {
        Ok(Self {
            listen_addr: config::socket_addr(env, "LISTEN_ADDR", "127.0.0.1:50051")?,
            metrics_addr: config::socket_addr(env, "METRICS_ADDR", "127.0.0.1:9551")?,
            database_url: config::required(env, "DATABASE_URL")?,
            internal_token: config::optional(env, "INTERNAL_TOKEN"),
            sweep_every: config::duration(env, "EXPIRY_SWEEP_EVERY", Duration::from_secs(1))?,
            db_max_connections: config::positive_u32(env, "DB_MAX_CONNECTIONS", 16)?,
            events: shop_events::RelayConfig::from_env(env)?,
        })
    }

    /// Settings for tests: port 0 and the given database.
    pub fn for_tests(database_url: String) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url,
            internal_token: None,
            sweep_every: Duration::from_millis(200),
            db_max_connections: 8,
            events: None,
        }
    }
}
