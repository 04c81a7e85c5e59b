//! Test support shared by every crate's integration tests.
//!
//! - [`postgres`]: a private PostgreSQL server (initdb into a temp dir, free loopback
//!   port) and a fresh database per test.
//! - [`redis`]: a private Redis server on a free loopback port.
//! - [`running`]: an app serving on a real socket until the test drops it.
//! - [`proxy`]: a TCP fault proxy (delay, dropped answers, blackhole, resets) to put
//!   between any client and server.
//!
//! Servers are watched by a small shell process that reads our end of a pipe: when the
//! test process ends, however it ends, the pipe closes and the watcher stops the
//! server and deletes its files. Nothing is left behind and nothing is mocked.

pub mod postgres;
pub mod proxy;
pub mod rabbitmq;
pub mod redis;
pub mod running;
mod watchdog;

pub use postgres::PgServer;
pub use proxy::{Fault, FaultProxy};
pub use rabbitmq::RabbitServer;
pub use redis::RedisServer;
pub use running::Running;

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|err| panic!("no free loopback port: {err}"))
}
