//! Postgres pools (with the server-side bounds on every session), migrations, their
//! gauges, and the translation of constraint errors, in one place.

use std::time::Duration;

use sqlx::{PgPool, migrate::Migrator, postgres::PgPoolOptions};

use crate::config::{self, ConfigError, EnvSource};

/// How long a call waits for a pooled connection. Long enough to queue behind a hot row
/// under load: 2 s turned a sold-out rush into UNAVAILABLE answers and retry storms
/// (BENCHMARKS.md). The price is that a database that is down answers UNAVAILABLE only
/// after this wait.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the server enforces on every session of a service's pool, so that no
/// statement, lock wait or forgotten transaction outlives the caller it was for by
/// much: a handler keeps running after its caller left (see [`crate::detach`]), and
/// these are what bound the database work it does meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// `statement_timeout` (`DB_STATEMENT_TIMEOUT`, default 5s).
    pub statement: Duration,
    /// `lock_timeout` (`DB_LOCK_TIMEOUT`, default 4s): a wait for a row or advisory
    /// lock; below the statement timeout so that a lock wait says so.
    pub lock: Duration,
    /// `idle_in_transaction_session_timeout` (`DB_IDLE_IN_TRANSACTION_TIMEOUT`, default
    /// 10s): the server ends a session left inside a transaction (its locks go with it).
    pub idle_in_transaction: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            statement: Duration::from_secs(5),
            lock: Duration::from_secs(4),
            idle_in_transaction: Duration::from_secs(10),
        }
    }
}

impl Timeouts {
    pub fn from_env(env: &dyn EnvSource) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            statement: config::duration(env, "DB_STATEMENT_TIMEOUT", default.statement)?,
            lock: config::duration(env, "DB_LOCK_TIMEOUT", default.lock)?,
            idle_in_transaction: config::duration(
                env,
                "DB_IDLE_IN_TRANSACTION_TIMEOUT",
                default.idle_in_transaction,
            )?,
        })
    }

    /// The three settings in milliseconds, as `set_config` takes them.
    fn millis(self) -> [String; 3] {
        [self.statement, self.lock, self.idle_in_transaction]
            .map(|d| format!("{}ms", d.as_millis().max(1)))
    }
}

/// Connects with bounded waits, so a database that is down turns into an error
/// (UNAVAILABLE to clients) instead of a hang; every session gets the default
/// [`Timeouts`].
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    connect_with(url, max_connections, Timeouts::default()).await
}

/// [`connect`] with the given server-side timeouts on every session (set once per
/// connection, in `after_connect`).
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    timeouts: Timeouts,
) -> anyhow::Result<PgPool> {
    let [statement, lock, idle] = timeouts.millis();
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .idle_timeout(Duration::from_secs(300))
        .after_connect(move |conn, _meta| {
            let (statement, lock, idle) = (statement.clone(), lock.clone(), idle.clone());
            Box::pin(async move {
                sqlx::query(
                    "SELECT set_config('statement_timeout', $1, false), \
                            set_config('lock_timeout', $2, false), \
                            set_config('idle_in_transaction_session_timeout', $3, false)",
                )
                .bind(statement)
                .bind(lock)
                .bind(idle)
                .execute(conn)
                .await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(pool)
}

/// Runs `migrator` on a connection of its own taken out of `pool`, with the session
/// timeouts lifted: a migration may rewrite a large table, and a second instance
/// starting at once waits for the first one's migration lock. The connection is
/// closed afterwards, never returned to the pool without its timeouts.
pub async fn migrate(pool: &PgPool, migrator: &Migrator) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?.detach();
    sqlx::query(
        "SELECT set_config('statement_timeout', '0', false), \
                set_config('lock_timeout', '0', false)",
    )
    .execute(&mut conn)
    .await?;
    migrator.run(&mut conn).await?;
    Ok(())
}

/// `d` in whole microseconds, the precision of a PostgreSQL `interval`: sqlx refuses
/// to encode a `Duration` with nanoseconds (a measured or jittered one has them).
pub fn interval(d: Duration) -> Duration {
    Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// A scrape hook setting the pool's gauges: `shop_db_pool_connections{state}` (in_use,
/// idle) and `shop_db_pool_max_connections`. Calls that wait for a connection show as
/// in_use at the maximum; those that waited too long as
/// `shop_db_pool_acquire_timeouts_total` (see [`count_timeout`]).
pub fn pool_gauges(pool: PgPool) -> crate::metrics::Hook {
    crate::metrics::hook(move || {
        let (size, idle) = (pool.size(), pool.num_idle());
        let max = pool.options().get_max_connections();
        async move {
            let in_use = f64::from(size).max(idle as f64) - idle as f64;
            metrics::gauge!("shop_db_pool_connections", "state" => "in_use").set(in_use);
            metrics::gauge!("shop_db_pool_connections", "state" => "idle").set(idle as f64);
            metrics::gauge!("shop_db_pool_max_connections").set(f64::from(max));
        }
    })
}

/// A scrape hook setting `shop_outbox_head_offset{stream}` to the last offset written
/// to the outbox `table` (its `"offset"` column): a consumer's lag is this less the
/// offset it has applied.
pub fn outbox_head_gauge(
    pool: PgPool,
    stream: &'static str,
    table: &'static str,
) -> crate::metrics::Hook {
    // `table` is a constant of the calling service, never input.
    let sql = format!(r#"SELECT coalesce(max("offset"), 0)::bigint FROM {table}"#);
    crate::metrics::hook(move || {
        let (pool, sql) = (pool.clone(), sql.clone());
        async move {
            match sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                .fetch_one(&pool)
                .await
            {
                Ok(head) => {
                    metrics::gauge!("shop_outbox_head_offset", "stream" => stream).set(head as f64);
                }
                Err(err) => tracing::debug!(error = %err, stream, "cannot read the outbox head"),
            }
        }
    })
}

/// Counts a call that gave up waiting for a pooled connection; call it where database
/// errors become statuses.
pub fn count_timeout(err: &sqlx::Error) {
    if matches!(err, sqlx::Error::PoolTimedOut) {
        metrics::counter!("shop_db_pool_acquire_timeouts_total").increment(1);
    }
}

/// The name of the violated constraint, when `err` is a unique violation.
pub fn unique_violation(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Some(db.constraint().unwrap_or(""))
        }
        _ => None,
    }
}

/// The name of the violated constraint, when `err` is a CHECK violation.
pub fn check_violation(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_check_violation() => Some(db.constraint().unwrap_or("")),
        _ => None,
    }
}

/// True for errors that mean "the database cannot do it right now" rather than "the
/// query is wrong": unreachable, shutting down, or a statement or lock wait cut short
/// by the session's [`Timeouts`] (57014, 55P03). A client should retry these later.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
    ) || matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|c| {
        c.starts_with("57P") || c.starts_with("08") || c == "57014" || c == "55P03"
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_have_defaults_and_settings() {
        let env: std::collections::HashMap<&str, String> =
            [("DB_LOCK_TIMEOUT", "250ms".to_owned())].into();
        let timeouts = Timeouts::from_env(&env).unwrap();
        assert_eq!(timeouts.lock, Duration::from_millis(250));
        assert_eq!(timeouts.statement, Timeouts::default().statement);
        assert_eq!(timeouts.millis()[1], "250ms");
        let bad: std::collections::HashMap<&str, String> =
            [("DB_STATEMENT_TIMEOUT", "soon".to_owned())].into();
        assert!(Timeouts::from_env(&bad).is_err());
    }

    #[test]
    fn intervals_drop_nanoseconds() {
        assert_eq!(
            interval(Duration::new(1, 123_456_789)),
            Duration::new(1, 123_456_000)
        );
    }
}
