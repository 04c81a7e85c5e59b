//! The Redis connection behind the holds: managed (reconnects on its own), created
//! lazily so the service starts while Redis is down, and every command bounded by a
//! timeout so an unreachable Redis is a quick UNAVAILABLE, never a hang.
//!
//! `REDIS_URL` forms:
//! - `redis://[user:password@]host:port[/db]`: one server.
//! - `redis+sentinel://[user:password@]host:port[,host:port...]/master_name[/db]`: ask
//!   the listed Sentinels for the current master of `master_name`; the credentials and
//!   db are for the master (Sentinels are reached without them). After a connection
//!   error or a `READONLY` reply (a failover demoted our master) the master is looked up
//!   again on the next command.
//! - Any error that is not a well-formed reply of the server (a reply that does not
//!   parse, say) drops the connection too: the next command opens a fresh one.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, bail};
use redis::{
    ConnectionAddr, ErrorKind, FromRedisValue, RedisError, ServerErrorKind,
    aio::{ConnectionManager, ConnectionManagerConfig},
    sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType},
};

use crate::error::Error;
use shop_common::internal::InternalError;

/// A cheap-to-clone handle on Redis.
#[derive(Clone)]
pub struct Redis {
    inner: Arc<Inner>,
    timeout: Duration,
}

struct Inner {
    source: Source,
    /// The connection in use; dropped (and made anew on the next command) when an
    /// error says it may be out of step with the server.
    current: Mutex<Option<ConnectionManager>>,
    config: ConnectionManagerConfig,
}

/// Where a new connection comes from.
enum Source {
    Direct(redis::Client),
    /// Asks the Sentinels for the current master.
    Sentinel(tokio::sync::Mutex<SentinelClient>),
}

impl Redis {
    /// Parses the URL and prepares the connection without contacting Redis.
    pub fn connect_lazily(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let source = if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            Source::Sentinel(tokio::sync::Mutex::new(sentinel_client(rest)?))
        } else {
            let client = redis::Client::open(url).context("REDIS_URL is not a valid Redis URL")?;
            Source::Direct(client)
        };
        let inner = Inner {
            source,
            current: Mutex::new(None),
            config: manager_config(timeout),
        };
        Ok(Self {
            inner: Arc::new(inner),
            timeout,
        })
    }

    /// Runs one command (or an atomic pipeline), bounded by the timeout.
    pub async fn query<T: FromRedisValue>(
        &self,
        what: &'static str,
        run: impl AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>,
    ) -> Result<T, Error> {
        let attempt = async {
            let mut conn = self.manager().await?;
            let result = run(&mut conn).await;
            if let Err(err) = &result {
                self.forget_connection_after(err);
            }
            result
        };
        match bounded(self.timeout, attempt).await {
            Some(Ok(value)) => Ok(value),
            Some(Err(err)) => {
                metrics::counter!("shop_redis_errors_total", "command" => what, "kind" => "error")
                    .increment(1);
                Err(classify(what, err))
            }
            None => {
                metrics::counter!("shop_redis_errors_total", "command" => what, "kind" => "timeout")
                    .increment(1);
                self.forget_connection();
                Err(Error::RedisUnavailable(format!("{what}: timed out")))
            }
        }
    }

    async fn manager(&self) -> redis::RedisResult<ConnectionManager> {
        if let Some(manager) = self.current() {
            return Ok(manager);
        }
        let inner = &self.inner;
        let client = match &inner.source {
            Source::Direct(client) => client.clone(),
            Source::Sentinel(sentinel) => sentinel.lock().await.async_get_client().await?,
        };
        let manager = ConnectionManager::new_lazy_with_config(client, inner.config.clone())?;
        if let Ok(mut current) = inner.current.lock() {
            *current = Some(manager.clone());
        }
        Ok(manager)
    }

    fn current(&self) -> Option<ConnectionManager> {
        self.inner.current.lock().ok().and_then(|m| m.clone())
    }

    /// Drops the connection after an error that is not a well-formed reply of the
    /// server (the stream may be out of step: a reply that did not parse stays in the
    /// buffer and fails every later command) or that says our master was demoted.
    fn forget_connection_after(&self, err: &RedisError) {
        let out_of_step = !matches!(err.kind(), ErrorKind::Server(_))
            || err.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly);
        if out_of_step || err.is_io_error() || err.is_unrecoverable_error() {
            self.forget_connection();
        }
    }

    fn forget_connection(&self) {
        if let Ok(mut current) = self.inner.current.lock() {
            *current = None;
        }
    }
}

/// Short connection attempts and few retries: a command waits at most `timeout`
/// anyway, and a fresh attempt on the next command is what lets us recover.
fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(200))
}

async fn bounded<T>(timeout: Duration, work: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(timeout, work).await.ok()
}

/// Connection trouble and failover replies are UNAVAILABLE (try again), and so is a
/// Redis at its `maxmemory` (OOM: it refuses writes rather than evict holds, see
/// `maxmemory-policy noeviction` in the scripts); anything else (a wrong reply type,
/// say) is a bug and becomes INTERNAL.
fn classify(what: &'static str, err: RedisError) -> Error {
    // Inside MULTI the refusal comes back as EXECABORT naming the OOM of the command.
    if err.code() == Some("OOM") || err.to_string().contains("OOM") {
        return Error::RedisFull(format!("{what}: {err}"));
    }
    let transient = err.is_io_error()
        || err.kind() == ErrorKind::Parse
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
        || matches!(
            err.kind(),
            ErrorKind::Server(
                ServerErrorKind::ReadOnly
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
            ) | ErrorKind::MasterNameNotFoundBySentinel
                | ErrorKind::EmptySentinelList
        );
    if transient {
        Error::RedisUnavailable(format!("{what}: {err}"))
    } else {
        Error::internal(
            "redis command failed",
            anyhow::Error::new(err).context(what),
        )
    }
}

/// `[user:password@]host:port[,host:port...]/master_name[/db]`
fn sentinel_client(rest: &str) -> anyhow::Result<SentinelClient> {
    let (auth, rest) = match rest.rsplit_once('@') {
        Some((auth, rest)) => (Some(auth), rest),
        None => (None, rest),
    };
    let (hosts, path) = rest
        .split_once('/')
        .context("REDIS_URL redis+sentinel:// needs /master_name after the hosts")?;
    let mut path = path.split('/');
    let master = path.next().filter(|m| !m.is_empty());
    let Some(master) = master else {
        bail!("REDIS_URL redis+sentinel:// needs a master name");
    };
    let db = match path.next().filter(|d| !d.is_empty()) {
        Some(db) => Some(
            db.parse::<i64>()
                .context("REDIS_URL has an invalid db number")?,
        ),
        None => None,
    };
    let sentinels = hosts
        .split(',')
        .map(|host| {
            let (name, port) = host
                .rsplit_once(':')
                .context("REDIS_URL sentinel addresses must be host:port")?;
            let port = port
                .parse::<u16>()
                .context("REDIS_URL has an invalid sentinel port")?;
            Ok(ConnectionAddr::Tcp(name.to_owned(), port))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut builder = SentinelClientBuilder::new(sentinels, master, SentinelServerType::Master)?;
    if let Some(db) = db {
        builder = builder.set_client_to_redis_db(db);
    }
    if let Some(auth) = auth {
        let (user, password) = auth.split_once(':').unwrap_or(("", auth));
        if !user.is_empty() {
            builder = builder.set_client_to_redis_username(user);
        }
        builder = builder.set_client_to_redis_password(password);
    }
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_urls_are_parsed() {
        assert!(sentinel_client("127.0.0.1:26379,10.0.0.2:26380/mymaster/2").is_ok());
        assert!(sentinel_client("u:p@127.0.0.1:26379/mymaster").is_ok());
        assert!(sentinel_client("127.0.0.1:26379").is_err());
        assert!(sentinel_client("127.0.0.1:26379/").is_err());
        assert!(sentinel_client("127.0.0.1/mymaster").is_err());
        assert!(sentinel_client("127.0.0.1:1/m/x").is_err());
    }

    #[tokio::test]
    async fn a_bad_url_is_refused_at_start() {
        assert!(Redis::connect_lazily("http://nope", Duration::from_secs(1)).is_err());
        assert!(Redis::connect_lazily("redis://127.0.0.1:1", Duration::from_secs(1)).is_ok());
    }
}
