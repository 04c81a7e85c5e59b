//! Building and running the gateway: pool, migrations, internal clients, the gRPC and
//! HTTP listeners (each face with its in-flight limit), and the background work (saga
//! recovery, the delivery event consumer, idempotency-key expiry, retention), and the
//! `/metrics` endpoint.

use std::{net::SocketAddr, time::Duration};

use axum::response::IntoResponse;
use shop_common::{
    CancellationToken, app::Service, db, limit::InFlightLimit, metrics, secret::ExposeSecret,
    worker,
};
use shop_proto::gateway::{
    admin_service_server::AdminServiceServer, shop_service_server::ShopServiceServer,
};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{
    admission::Admission,
    api::{Gateway, Parts},
    audit::Audit,
    auth::Authenticator,
    checkout::Checkout,
    clients::Clients,
    config::Config,
    error::Error,
    events, gauges,
    idempotency::{self, Keys},
    listener,
    readiness::Readiness,
    retention,
    saga::{Engine, SagaLog, recovery},
    throttle::Throttle,
};

/// Largest public gRPC message: far above any valid request, far below the default.
const MAX_MESSAGE: usize = 1024 * 1024;
/// How long the delivery hold is kept alive once a payment starts (outlives recovery).
const HOLD_DURING_PAYMENT: Duration = Duration::from_secs(15 * 60);
/// REST paths answered whatever the load (an overloaded gateway is alive, and must
/// not be restarted by its liveness probe for being busy).
const HTTP_EXEMPT: &[&str] = &["/healthz", "/readyz"];

pub struct App {
    grpc: TcpListener,
    http: TcpListener,
    metrics: metrics::Endpoint,
    pool: PgPool,
    gateway: Gateway,
    workers: Workers,
    readiness: Readiness,
    config: Config,
}

/// What the background work shares with the public calls.
struct Workers {
    engine: Engine,
    keys: Keys,
    audit: Audit,
    throttle: Throttle,
    clients: Clients,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect_with(
            config.database_url.expose_secret(),
            config.db_max_connections,
            config.db_timeouts,
        )
        .await?;
        db::migrate(&pool, &sqlx::migrate!("./migrations")).await?;
        let clients = Clients::connect_lazy(&config)?;
        let readiness = Readiness::new(pool.clone(), clients.channels.clone());
        let engine = Engine::new(
            clients.clone(),
            SagaLog::new(pool.clone(), config.saga_lease),
            HOLD_DURING_PAYMENT,
            config.saga_backoff_max,
        );
        let keys = Keys::new(pool.clone(), config.jwt_secret.expose_secret())?;
        let audit = Audit::new(pool.clone());
        let checkout = Checkout::new(
            clients.clone(),
            engine.clone(),
            keys.clone(),
            Admission::new(config.checkout_concurrency as usize),
            audit.clone(),
            config.payment_window,
        );
        let throttle = Throttle::new(config.user_write_rate, config.user_write_burst);
        let gateway = Gateway::new(Parts {
            auth: Authenticator::new(config.jwt_secret.expose_secret())
                .expecting(config.jwt_issuer.as_deref(), config.jwt_audience.as_deref()),
            throttle: throttle.clone(),
            checkout,
            clients: clients.clone(),
            sagas: engine.log().clone(),
            pool: pool.clone(),
            audit: audit.clone(),
        });
        let workers = Workers {
            engine,
            keys,
            audit,
            throttle,
            clients,
        };
        let grpc = TcpListener::bind(config.listen_addr).await?;
        let http = TcpListener::bind(config.http_addr).await?;
        let metrics = metrics::Endpoint::bind(config.metrics_addr)
            .await?
            .on_scrape(db::pool_gauges(pool.clone()));
        Ok(Self {
            grpc,
            http,
            metrics,
            pool,
            gateway,
            workers,
            readiness,
            config,
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http.local_addr().unwrap_or(self.config.http_addr)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The `/metrics` address actually bound.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics
            .local_addr()
            .unwrap_or(self.config.metrics_addr)
    }
}

impl Service for App {
    fn local_addr(&self) -> SocketAddr {
        self.grpc.local_addr().unwrap_or(self.config.listen_addr)
    }

    async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let metrics = tokio::spawn(self.metrics.serve(shutdown.clone()));
        let engine = self.workers.engine.clone();
        let handover = engine.clone();
        let recovery = worker::spawn_periodic(
            "saga-recovery",
            recovery::EVERY,
            recovery::BATCH,
            shutdown.clone(),
            move || {
                let engine = engine.clone();
                async move { engine.recover_round().await }
            },
        );
        let keys = self.workers.keys.clone();
        let purge = worker::spawn_periodic(
            "idempotency-expiry",
            Duration::from_secs(60),
            idempotency::PURGE_BATCH as usize,
            shutdown.clone(),
            move || {
                let keys = keys.clone();
                async move { Ok(usize::try_from(keys.purge_expired().await?).unwrap_or(0)) }
            },
        );
        let (pool, audit) = (self.pool.clone(), self.workers.audit.clone());
        let keep = retention::Keep {
            logs: self.config.log_retention,
            audit: self.config.audit_retention,
        };
        let retention = retention::spawn(
            pool,
            audit,
            self.config.retention_every,
            keep,
            shutdown.clone(),
        );
        let throttle = self.workers.throttle.clone();
        let forget = worker::spawn_periodic(
            "rate-limit-gc",
            Duration::from_secs(60),
            usize::MAX,
            shutdown.clone(),
            move || {
                let throttle = throttle.clone();
                async move {
                    throttle.forget_idle();
                    Ok(0)
                }
            },
        );
        let consumer = events::spawn(
            self.workers.clients.clone(),
            self.pool.clone(),
            shutdown.clone(),
        );
        let (log, pool) = (self.workers.engine.log().clone(), self.pool.clone());
        let sampler = worker::spawn_periodic(
            "gauges",
            gauges::EVERY,
            usize::MAX,
            shutdown.clone(),
            move || {
                let (log, pool) = (log.clone(), pool.clone());
                async move { gauges::sample(&log, &pool).await.map(|()| 0) }
            },
        );

        let routes = Routes::new(
            ShopServiceServer::new(self.gateway.clone()).max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            AdminServiceServer::new(self.gateway.clone()).max_decoding_message_size(MAX_MESSAGE),
        );
        let max_in_flight = self.config.max_in_flight as usize;
        let grpc = shop_common::grpc::serve_limited(
            self.grpc,
            routes,
            &[
                "shop.gateway.v1.ShopService",
                "shop.gateway.v1.AdminService",
            ],
            shutdown.clone(),
            Some(max_in_flight),
        );
        // Outermost, so its slot reaches the detached task inside the router.
        let router = crate::http::router(self.gateway, self.readiness, &self.config).layer(
            InFlightLimit::new(max_in_flight, "http", http_overloaded, HTTP_EXEMPT),
        );
        let limits = listener::Limits {
            max_connections: self.config.http_max_connections as usize,
            header_timeout: self.config.http_header_timeout,
            idle_timeout: self.config.http_idle_timeout,
        };
        let http = listener::serve(self.http, router, limits, shutdown.clone());
        tracing::info!(addr = %self.config.http_addr, "serving REST");
        let (grpc, http) = tokio::join!(grpc, http);
        let _ = tokio::join!(recovery, purge, retention, forget, consumer, sampler);
        // What is still being driven here would otherwise wait out its lease.
        handover.hand_over().await;
        metrics::stopped(metrics).await;
        grpc?;
        http?;
        Ok(())
    }
}

/// The REST answer to a request shed by the in-flight limit: 429 with `Retry-After`.
fn http_overloaded() -> axum::response::Response {
    let overloaded = Error::Overloaded("the gateway is at its limit of requests in progress");
    crate::http::error::ApiError(overloaded.into()).into_response()
}
