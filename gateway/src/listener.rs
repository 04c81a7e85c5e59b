//! The REST listener, hardened against slow and idle clients (slowloris): at most
//! `max_connections` connections are open (more wait in the kernel's listen backlog),
//! a request's headers must arrive within `header_timeout`, and a connection with no
//! request in flight and no bytes moving for `idle_timeout` is closed. On shutdown,
//! connections finish their requests in flight and close, within the grace period.
//!
//! (axum's own `serve` has none of these bounds: a client that opens connections and
//! sends a byte now and then holds them, and the task behind each, forever.)

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::Router;
use hyper::{Request, body::Incoming};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use shop_common::{CancellationToken, grpc::SHUTDOWN_GRACE};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    time::Instant,
};
use tower::ServiceExt;

/// The bounds of the listener (`HTTP_MAX_CONNECTIONS`, `HTTP_HEADER_TIMEOUT`,
/// `HTTP_IDLE_TIMEOUT`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown`, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let max = limits.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.idle_timeout);
    loop {
        // A slot first: past the cap, new connections wait in the backlog.
        let slot = tokio::select! {
            () = shutdown.cancelled() => break,
            slot = Arc::clone(&slots).acquire_owned() => slot?,
        };
        let (tcp, _peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait a little, go on.
                    tracing::warn!(error = %err, "cannot accept a REST connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
        let connection = Connection {
            builder: builder.clone(),
            router: router.clone(),
            limits,
            shutdown: shutdown.clone(),
        };
        tokio::spawn(async move {
            connection.run(tcp).await;
            drop(slot);
        });
    }
    // Every connection holds a slot until it ends: having them all back means drained.
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(max as u32)).await;
    if drained.is_err() {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "REST connections did not finish in time; stopping anyway");
    }
    Ok(())
}

struct Connection {
    builder: auto::Builder<TokioExecutor>,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
}

impl Connection {
    async fn run(self, tcp: TcpStream) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked {
            inner: tcp,
            activity: Arc::clone(&activity),
        });
        let (router, busy) = (self.router, Arc::clone(&activity));
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let (router, working) = (router.clone(), Working::start(&busy));
            async move {
                let response = router.oneshot(request).await;
                drop(working);
                response
            }
        });
        let conn = self.builder.serve_connection_with_upgrades(io, service);
        let mut conn = std::pin::pin!(conn);
        let every = (self.limits.idle_timeout / 4).max(Duration::from_millis(50));
        let mut closing = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(error = %err, "REST connection ended with an error");
                    }
                    return;
                }
                () = self.shutdown.cancelled(), if !closing => {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
                () = tokio::time::sleep(every), if !closing => {
                    if activity.idle_for() >= self.limits.idle_timeout {
                        tracing::debug!("closing an idle REST connection");
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// What a connection is doing: requests in flight, and when bytes last moved.
struct Activity {
    started: Instant,
    /// Milliseconds after `started` of the last read or write.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    /// How long the connection has been idle: zero while a request is in flight.
    fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

/// A request in flight on its connection (the connection is not idle meanwhile).
struct Working(Arc<Activity>);

impl Working {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(activity))
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// The TCP stream, noting each read and write in the connection's [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
