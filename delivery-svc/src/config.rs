//! delivery-svc settings, parsed once at start.

use std::{net::SocketAddr, time::Duration};

use shop_common::{
    config::{self, ConfigError, EnvSource},
    db,
    secret::{Secret, secret},
    serving::Settings,
};

#[derive(Debug, Clone)]
pub struct Config {
    /// gRPC address (`LISTEN_ADDR`, default 127.0.0.1:50053).
    pub listen_addr: SocketAddr,
    /// Prometheus `/metrics` address (`METRICS_ADDR`, default 127.0.0.1:9553).
    pub metrics_addr: SocketAddr,
    /// The service's own database (`DATABASE_URL`); it may carry a password.
    pub database_url: Secret,
    /// `redis://host:port[/db]`, or `redis+sentinel://host:port[,host:port]/master_name`.
    pub redis_url: Secret,
    /// Required bearer token on every DeliveryService call, when set.
    pub internal_token: Option<Secret>,
    /// How long after a delivery is created it is received automatically.
    pub auto_receive_after: Duration,
    /// How often the automatic-receipt timer looks for due deliveries.
    pub timer_every: Duration,
    /// The longest a hold may live from now (`HOLD_MAX_TTL`, default 1h): bounds both
    /// HoldDelivery's ttl and ExtendHold.
    pub hold_max_ttl: Duration,
    /// The bound on every Redis command, connecting included (`REDIS_TIMEOUT`, 1s).
    pub redis_timeout: Duration,
    pub db_max_connections: u32,
    /// The event relay's broker (`AMQP_URL`); `None`: no relay, nothing published.
    pub events: Option<shop_events::RelayConfig>,
    /// Server-side bounds of every database session (`DB_*_TIMEOUT`).
    pub db_timeouts: db::Timeouts,
    /// How long after RECEIVED a delivery keeps its recipient, address, contact and
    /// note (`DELIVERY_PII_RETENTION`, default 30 days); a cancelled one loses them at
    /// once.
    pub pii_retention: Duration,
    /// Replicas that must acknowledge every hold write (`HOLD_MIN_REPLICAS`, default 0:
    /// no wait): with Sentinel, a failover then cannot lose a hold the caller was told
    /// about. Not enough replicas answers UNAVAILABLE.
    pub hold_min_replicas: u32,
    /// How long the outbox and the cancel fences are kept (`LOG_RETENTION`, 30 days).
    pub log_retention: Duration,
    /// How often the redaction and retention jobs run (not a setting: a minute; tests
    /// shorten it).
    pub retention_every: Duration,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

impl Config {
    pub fn from_env(env: &dyn EnvSource) -> Result<Self, ConfigError> {
        let listen_addr = config::socket_addr(env, "LISTEN_ADDR", "127.0.0.1:50053")?;
        Ok(Self {
            listen_addr,
            metrics_addr: config::socket_addr(env, "METRICS_ADDR", "127.0.0.1:9553")?,
            database_url: config::required_secret(env, "DATABASE_URL")?,
            redis_url: config::required_secret(env, "REDIS_URL")?,
            internal_token: config::internal_token(env, listen_addr)?,
            auto_receive_after: config::duration(
                env,
                "AUTO_RECEIVE_AFTER",
                Duration::from_secs(24 * 3600),
            )?,
            timer_every: config::duration(env, "AUTO_RECEIVE_POLL_EVERY", Duration::from_secs(1))?,
            hold_max_ttl: config::duration(env, "HOLD_MAX_TTL", Duration::from_secs(3600))?,
            redis_timeout: config::duration(env, "REDIS_TIMEOUT", Duration::from_secs(1))?,
            db_max_connections: config::positive_u32(env, "DB_MAX_CONNECTIONS", 16)?,
            events: shop_events::RelayConfig::from_env(env)?,
            db_timeouts: db::Timeouts::from_env(env)?,
            pii_retention: config::duration(env, "DELIVERY_PII_RETENTION", 30 * DAY)?,
            hold_min_replicas: config::whole_u32(env, "HOLD_MIN_REPLICAS", 0)?,
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

    /// Settings for tests: port 0 and the given database and Redis.
    pub fn for_tests(database_url: String, redis_url: String) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: secret(database_url),
            redis_url: secret(redis_url),
            internal_token: None,
            auto_receive_after: Duration::from_secs(24 * 3600),
            timer_every: Duration::from_millis(200),
            hold_max_ttl: Duration::from_secs(3600),
            redis_timeout: Duration::from_secs(1),
            db_max_connections: 8,
            events: None,
            db_timeouts: db::Timeouts::default(),
            pii_retention: 30 * DAY,
            hold_min_replicas: 0,
            log_retention: 30 * DAY,
            retention_every: Duration::from_millis(200),
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
    fn defaults_and_overrides() {
        let base = [
            ("DATABASE_URL", "postgres://x/y"),
            ("REDIS_URL", "redis://r"),
        ];
        let config = Config::from_env(&env(&base)).unwrap();
        assert_eq!(config.auto_receive_after, Duration::from_secs(86_400));
        assert_eq!(config.hold_max_ttl, Duration::from_secs(3600));
        assert_eq!(config.redis_timeout, Duration::from_secs(1));

        let mut custom = base.to_vec();
        custom.extend([("HOLD_MAX_TTL", "10m"), ("AUTO_RECEIVE_AFTER", "500ms")]);
        let config = Config::from_env(&env(&custom)).unwrap();
        assert_eq!(config.hold_max_ttl, Duration::from_secs(600));
        assert_eq!(config.auto_receive_after, Duration::from_millis(500));
    }

    #[test]
    fn redis_url_is_required_and_durations_checked() {
        let err = Config::from_env(&env(&[("DATABASE_URL", "postgres://x/y")])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("REDIS_URL"));
        let bad = env(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("REDIS_URL", "redis://r"),
            ("HOLD_MAX_TTL", "forever"),
        ]);
        assert!(
            Config::from_env(&bad)
                .unwrap_err()
                .to_string()
                .contains("HOLD_MAX_TTL")
        );
    }
}
