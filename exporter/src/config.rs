//! Exporter settings, parsed once at start.

use std::net::SocketAddr;

use shop_common::{
    config::{self, ConfigError, EnvSource},
    db,
    secret::{Secret, secret},
    serving::Settings,
};

#[derive(Debug, Clone)]
pub struct Config {
    /// Health (gRPC) address (`LISTEN_ADDR`, default 127.0.0.1:50054).
    pub listen_addr: SocketAddr,
    /// Prometheus `/metrics` address (`METRICS_ADDR`, default 127.0.0.1:9554).
    pub metrics_addr: SocketAddr,
    /// The exporter's own database.
    pub database_url: Secret,
    /// The broker (`AMQP_URL`, required: the exporter is nothing without it).
    pub amqp_url: Secret,
    /// Its durable queue (`EXPORTER_QUEUE`, default `shop.exporter`); the dead letters
    /// go to `<queue>.dead-letter`.
    pub queue: String,
    pub db_max_connections: u32,
}

impl Config {
    pub fn from_env(env: &dyn EnvSource) -> Result<Self, ConfigError> {
        Ok(Self {
            listen_addr: config::socket_addr(env, "LISTEN_ADDR", "127.0.0.1:50054")?,
            metrics_addr: config::socket_addr(env, "METRICS_ADDR", "127.0.0.1:9554")?,
            database_url: config::required_secret(env, "DATABASE_URL")?,
            amqp_url: shop_events::config::amqp_url(env)?
                .ok_or(ConfigError::Missing("AMQP_URL"))?,
            queue: config::optional(env, "EXPORTER_QUEUE")
                .unwrap_or_else(|| shop_events::cli::DEFAULT_QUEUE.to_owned()),
            db_max_connections: config::positive_u32(env, "DB_MAX_CONNECTIONS", 4)?,
        })
    }

    /// What the shared serving piece binds: addresses and the database (with the
    /// default session timeouts).
    pub fn serving(&self) -> Settings<'_> {
        Settings {
            listen_addr: self.listen_addr,
            metrics_addr: self.metrics_addr,
            database_url: &self.database_url,
            db_max_connections: self.db_max_connections,
            db_timeouts: db::Timeouts::default(),
        }
    }

    /// Settings for tests: port 0, the given database and broker.
    pub fn for_tests(database_url: String, amqp_url: String) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: secret(database_url),
            amqp_url: secret(amqp_url),
            queue: shop_events::cli::DEFAULT_QUEUE.to_owned(),
            db_max_connections: 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&'static str, &str)]) -> HashMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn the_broker_is_required() {
        let err = Config::from_env(&env(&[("DATABASE_URL", "postgres://x/y")])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("AMQP_URL"));
        let config = Config::from_env(&env(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
        ]))
        .unwrap();
        assert_eq!(config.queue, "shop.exporter");
        assert_eq!(config.listen_addr.port(), 50054);
    }
}
