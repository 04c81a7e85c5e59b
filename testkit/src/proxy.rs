//! A TCP fault proxy: put it between a client and a server (the gateway and a service,
//! a service and its PostgreSQL, delivery-svc and Redis) and switch, while the test
//! runs, what happens to the bytes: passed on, delayed per direction, answers dropped
//! after the request went through (the ambiguous case: the server acts, the client
//! never hears), everything swallowed (a blackhole), connections reset, or new
//! connections refused.
//!
//! It works on bytes, not on messages: a fault applies to every request on the
//! connections it carries, from the moment it is switched on.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{ReadHalf, WriteHalf},
    },
    sync::{mpsc, watch},
    task::JoinHandle,
    time::Instant,
};

/// What the proxy does with the traffic from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes pass unchanged.
    Pass,
    /// Every chunk waits this long before it is passed on: `up` from client to
    /// server, `down` from server to client.
    Delay { up: Duration, down: Duration },
    /// Requests reach the server; its answers are swallowed.
    DropAnswers,
    /// Nothing passes either way; connections stay open and silent.
    Blackhole,
    /// Open connections are reset and new ones are reset as soon as they are made.
    Refuse,
}

impl Fault {
    /// The same latency both ways.
    pub fn delay(each_way: Duration) -> Self {
        Self::Delay {
            up: each_way,
            down: each_way,
        }
    }
}

struct Shared {
    fault: Mutex<Fault>,
    /// Bumped to make every open connection reset itself.
    resets: watch::Sender<u64>,
    connections: AtomicU64,
}

impl Shared {
    fn fault(&self) -> Fault {
        *self
            .fault
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let (resets, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            fault: Mutex::new(Fault::Pass),
            resets,
            connections: AtomicU64::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, upstream, Arc::clone(&shared)));
        Ok(Self {
            addr,
            upstream,
            shared,
            accept,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where it forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// `http://127.0.0.1:port`, for a gRPC client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `url` with its `host:port` replaced by the proxy's (for a database or Redis URL
    /// that names the upstream).
    pub fn rewrite(&self, url: &str) -> String {
        url.replace(&self.upstream.to_string(), &self.addr.to_string())
    }

    /// Switches what happens from now on. [`Fault::Refuse`] also resets every open
    /// connection.
    pub fn set(&self, fault: Fault) {
        *self
            .shared
            .fault
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = fault;
        if fault == Fault::Refuse {
            self.reset_connections();
        }
    }

    pub fn fault(&self) -> Fault {
        self.shared.fault()
    }

    /// Resets every open connection once (clients reconnect; new connections pass).
    pub fn reset_connections(&self) {
        self.shared.resets.send_modify(|n| *n += 1);
    }

    /// How many connections it has accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.reset_connections();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        if shared.fault() == Fault::Refuse {
            abort(client);
            continue;
        }
        tokio::spawn(carry(client, upstream, Arc::clone(&shared)));
    }
}

/// One proxied connection: a pump each way until both sides have closed, or a reset.
async fn carry(mut client: TcpStream, upstream: SocketAddr, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let connect = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(upstream));
    let Ok(Ok(mut server)) = connect.await else {
        abort(client);
        return;
    };
    let _ = server.set_nodelay(true);
    let mut resets = shared.resets.subscribe();
    {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let both = async {
            tokio::join!(
                pump(client_read, server_write, Direction::Up, &shared),
                pump(server_read, client_write, Direction::Down, &shared),
            )
        };
        tokio::select! {
            _ = resets.changed() => {}
            _ = both => return,
        }
    }
    abort(client);
    abort(server);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// Reads chunks from `from`, decides under the fault in force at that moment whether
/// and when to pass each on, and writes them to `to` in order; once `from` has closed
/// and everything is written, closes `to` for writing (passes the FIN on).
async fn pump(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    direction: Direction,
    shared: &Shared,
) {
    let (queue, mut due) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = async move {
        while let Some((at, bytes)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let delay = match (shared.fault(), direction) {
                (Fault::Pass, _) | (Fault::DropAnswers, Direction::Up) => Duration::ZERO,
                (Fault::Delay { up, .. }, Direction::Up) => up,
                (Fault::Delay { down, .. }, Direction::Down) => down,
                (Fault::DropAnswers, Direction::Down) | (Fault::Blackhole | Fault::Refuse, _) => {
                    continue;
                }
            };
            if queue
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
    };
    tokio::join!(reader, writer);
}

/// Closes with a reset (RST), as a crashed peer or a firewall would.
fn abort(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
        stream.write_all(b"ping").await.ok()?;
        let mut buf = [0u8; 4];
        match tokio::time::timeout(within, stream.read_exact(&mut buf)).await {
            Ok(Ok(_)) => Some(buf.to_vec()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn passes_delays_drops_and_refuses() {
        let proxy = FaultProxy::start(echo_server().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        let quick = Duration::from_millis(500);
        assert_eq!(
            round_trip(&mut stream, quick).await.as_deref(),
            Some(&b"ping"[..])
        );

        proxy.set(Fault::delay(Duration::from_millis(150)));
        let started = Instant::now();
        assert!(
            round_trip(&mut stream, Duration::from_secs(2))
                .await
                .is_some()
        );
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "both ways delayed"
        );

        proxy.set(Fault::DropAnswers);
        assert!(
            round_trip(&mut stream, quick).await.is_none(),
            "the answer is swallowed"
        );

        proxy.set(Fault::Refuse);
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(quick, stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "the open connection is closed: {read:?}"
        );
        let mut fresh = TcpStream::connect(proxy.addr()).await.unwrap();
        assert!(
            round_trip(&mut fresh, quick).await.is_none(),
            "a new one is refused"
        );

        proxy.set(Fault::Pass);
        let mut healed = TcpStream::connect(proxy.addr()).await.unwrap();
        assert!(round_trip(&mut healed, quick).await.is_some(), "healed");
    }
}
