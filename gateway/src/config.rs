//! gateway settings, parsed once at start. Secrets (`DATABASE_URL`, `JWT_SECRET`,
//! `INTERNAL_TOKEN`) are kept in [`Secret`], which does not print in `Debug`.

use std::{net::SocketAddr, time::Duration};

use shop_common::{
    config::{self, ConfigError, EnvSource},
    db,
    secret::Secret,
};

use crate::saga;

/// `value` when it is at least `min`, else an error naming the variable.
fn at_least(name: &'static str, value: Duration, min: Duration) -> Result<Duration, ConfigError> {
    if value < min {
        return Err(ConfigError::Invalid {
            name,
            problem: format!("must be at least {min:?}"),
        });
    }
    Ok(value)
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Public gRPC address (`LISTEN_ADDR`, default 127.0.0.1:50050).
    pub listen_addr: SocketAddr,
    /// REST facade address (`HTTP_ADDR`, default 127.0.0.1:8080).
    pub http_addr: SocketAddr,
    /// Prometheus `/metrics` address (`METRICS_ADDR`, default 127.0.0.1:9550).
    pub metrics_addr: SocketAddr,
    /// `DATABASE_URL`, with its password: a secret.
    pub database_url: Secret,
    pub order_svc_url: String,
    pub payment_svc_url: String,
    pub delivery_svc_url: String,
    /// HS256 secret of user and admin tokens.
    pub jwt_secret: Secret,
    /// Sent to the internal services, when set.
    pub internal_token: Option<Secret>,
    /// How long an order waits for payment: its expiry and its delivery hold's TTL.
    pub payment_window: Duration,
    pub db_max_connections: u32,
    /// Most checkouts (pay sagas, with the place of a Checkout) run at once; the rest
    /// queue at the edge (`CHECKOUT_CONCURRENCY`, default 32).
    pub checkout_concurrency: u32,
    /// How long a saga's lease lasts without renewal (`SAGA_LEASE`, default 30s): a
    /// driver renews it while alive, so this is how long a crashed or frozen driver's
    /// sagas wait before recovery takes them.
    pub saga_lease: Duration,
    /// The longest backoff before recovery retries a deferred saga
    /// (`SAGA_BACKOFF_MAX`, default 60s).
    pub saga_backoff_max: Duration,
    /// Origins whose pages may call the REST facade (`CORS_ALLOWED_ORIGINS`; none by
    /// default, `*` for any).
    pub cors_allowed_origins: Vec<String>,
    /// Server-side bounds of every database session (`DB_*_TIMEOUT`).
    pub db_timeouts: db::Timeouts,
    /// Tokens must carry this `iss`, when set (`JWT_ISSUER`).
    pub jwt_issuer: Option<String>,
    /// Tokens must carry this `aud`, when set (`JWT_AUDIENCE`).
    pub jwt_audience: Option<String>,
    /// Most requests whose work runs at once on each face, gRPC and REST
    /// (`MAX_IN_FLIGHT`, default 512); the next is refused with OVERLOADED.
    pub max_in_flight: u32,
    /// Most open REST connections (`HTTP_MAX_CONNECTIONS`, default 1024): further
    /// connections wait in the listen backlog.
    pub http_max_connections: u32,
    /// A REST client must send a request's headers within this (`HTTP_HEADER_TIMEOUT`,
    /// default 5s), or its connection is closed.
    pub http_header_timeout: Duration,
    /// A REST connection with nothing in flight and no bytes moving for this long is
    /// closed (`HTTP_IDLE_TIMEOUT`, default 60s).
    pub http_idle_timeout: Duration,
    /// Writes (place, pay, checkout, cancel, receipt) one user may send per second
    /// (`USER_WRITE_RATE`, default 10) and in one burst (`USER_WRITE_BURST`, default 20).
    pub user_write_rate: u32,
    pub user_write_burst: u32,
    /// How long finished sagas (and their steps) and resolved parked events are kept
    /// (`LOG_RETENTION`, default 30 days).
    pub log_retention: Duration,
    /// How long the admin audit trail is kept (`AUDIT_RETENTION`, default 365 days).
    pub audit_retention: Duration,
    /// How often the retention job runs (not a setting: a minute; tests shorten it).
    pub retention_every: Duration,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

impl Config {
    pub fn from_env(env: &dyn EnvSource) -> Result<Self, ConfigError> {
        let jwt_secret = config::required(env, "JWT_SECRET")?;
        if jwt_secret.len() < 16 {
            return Err(ConfigError::Invalid {
                name: "JWT_SECRET",
                problem: "must be at least 16 characters".into(),
            });
        }
        Ok(Self {
            listen_addr: config::socket_addr(env, "LISTEN_ADDR", "127.0.0.1:50050")?,
            http_addr: config::socket_addr(env, "HTTP_ADDR", "127.0.0.1:8080")?,
            metrics_addr: config::socket_addr(env, "METRICS_ADDR", "127.0.0.1:9550")?,
            database_url: config::required_secret(env, "DATABASE_URL")?,
            order_svc_url: config::http_url(env, "ORDER_SVC_URL")?,
            payment_svc_url: config::http_url(env, "PAYMENT_SVC_URL")?,
            delivery_svc_url: config::http_url(env, "DELIVERY_SVC_URL")?,
            jwt_secret: Secret::from(jwt_secret),
            internal_token: config::optional_secret(env, "INTERNAL_TOKEN"),
            payment_window: config::duration(env, "PAYMENT_WINDOW", Duration::from_secs(300))?,
            db_max_connections: config::positive_u32(env, "DB_MAX_CONNECTIONS", 32)?,
            checkout_concurrency: config::positive_u32(env, "CHECKOUT_CONCURRENCY", 32)?,
            saga_lease: at_least(
                "SAGA_LEASE",
                config::duration(env, "SAGA_LEASE", saga::log::LEASE)?,
                Duration::from_secs(1),
            )?,
            saga_backoff_max: at_least(
                "SAGA_BACKOFF_MAX",
                config::duration(env, "SAGA_BACKOFF_MAX", Duration::from_secs(60))?,
                Duration::from_secs(1),
            )?,
            cors_allowed_origins: crate::http::cors::origins(env)?,
            db_timeouts: db::Timeouts::from_env(env)?,
            jwt_issuer: config::optional(env, "JWT_ISSUER"),
            jwt_audience: config::optional(env, "JWT_AUDIENCE"),
            max_in_flight: config::positive_u32(env, "MAX_IN_FLIGHT", 512)?,
            http_max_connections: config::positive_u32(env, "HTTP_MAX_CONNECTIONS", 1024)?,
            http_header_timeout: config::duration(
                env,
                "HTTP_HEADER_TIMEOUT",
                Duration::from_secs(5),
            )?,
            http_idle_timeout: config::duration(env, "HTTP_IDLE_TIMEOUT", Duration::from_secs(60))?,
            user_write_rate: config::positive_u32(env, "USER_WRITE_RATE", 10)?,
            user_write_burst: config::positive_u32(env, "USER_WRITE_BURST", 20)?,
            log_retention: config::duration(env, "LOG_RETENTION", 30 * DAY)?,
            audit_retention: config::duration(env, "AUDIT_RETENTION", 365 * DAY)?,
            retention_every: Duration::from_secs(60),
        })
    }
}

/// The `JWT_SECRET` of [`Config::for_tests`].
pub const TEST_JWT_SECRET: &str = "test-secret-at-least-16-chars";

impl Config {
    /// Settings for tests: port 0 for both faces, a short payment window.
    pub fn for_tests(
        database_url: String,
        order: String,
        payment: String,
        delivery: String,
    ) -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: Secret::from(database_url),
            order_svc_url: order,
            payment_svc_url: payment,
            delivery_svc_url: delivery,
            jwt_secret: Secret::from(TEST_JWT_SECRET),
            internal_token: None,
            payment_window: Duration::from_secs(300),
            db_max_connections: 8,
            checkout_concurrency: 32,
            saga_lease: saga::log::LEASE,
            saga_backoff_max: Duration::from_secs(60),
            cors_allowed_origins: Vec::new(),
            db_timeouts: db::Timeouts::default(),
            jwt_issuer: None,
            jwt_audience: None,
            max_in_flight: 512,
            http_max_connections: 1024,
            http_header_timeout: Duration::from_secs(5),
            http_idle_timeout: Duration::from_secs(60),
            // Tests drive one user hard; their own limits are set where they test them.
            user_write_rate: 1000,
            user_write_burst: 1000,
            log_retention: 30 * DAY,
            audit_retention: 365 * DAY,
            retention_every: Duration::from_millis(200),
        }
    }
}
