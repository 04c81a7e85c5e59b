//! payment-svc settings, parsed once at start.

use std::net::SocketAddr;

use shop_common::config::{self, ConfigError, EnvSource};

#[derive(Debug, Clone)]
pub struct Config {
    /// gRPC address (`LISTEN_ADDR`, default 127.0.0.1:50052).
    pub listen_addr: SocketAddr,
    /// Prometheus `/metrics` address (`METRICS_ADDR`, default 127.0.0.1:9552).
    pub metrics_addr: SocketAddr,
    pub database_url: String,
    /// Required bearer token on every PaymentService call, when set.
    pub internal_token: Option<String>,
    pub db_max_connections: u32,
}

impl Config {
    pub fn from_env(env: &dyn EnvSource) -> Result<Self, ConfigError> {
        Ok(Self {
            listen_addr: config::socket_addr(env, "LISTEN_ADDR", "127.0.0.1:50052")?,
            metrics_addr: config::socket_addr(env, "METRICS_ADDR", "127.0.0.1:9552")?,
            database_url: config::required(env, "DATABASE_URL")?,
            internal_token: config::optional(env, "INTERNAL_TOKEN"),
            db_max_connections: config::positive_u32(env, "DB_MAX_CONNECTIONS", 16)?,
        })
    }

    /// Settings for tests: port 0 and the given database.
    pub fn for_tests(database_url: String) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url,
            internal_token: None,
            db_max_connections: 8,
        }
    }
}
