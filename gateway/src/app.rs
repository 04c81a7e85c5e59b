//! Building and running the gateway: pool, migrations, internal clients, the gRPC and
//! HTTP listeners, and the background work (saga recovery, the delivery event
//! consumer, idempotency-key expiry), and the `/metrics` endpoint.

use std::{net::SocketAddr, time::Duration};

use axum::serve::ListenerExt;
use shop_common::{CancellationToken, app::Service, db, metrics, worker};
use shop_proto::gateway::{
    admin_service_server::AdminServiceServer, shop_service_server::ShopServiceServer,
};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{
    admission::Admission,
    api::{Gateway, Inner},
    auth::Authenticator,
    clients::Clients,
    config::Config,
    events, gauges,
    idempotency::Keys,
    readiness::Readiness,
    saga::{Engine, SagaLog, recovery},
};

/// Largest public gRPC message: far above any valid request, far below the default.
const MAX_MESSAGE: usize = 1024 * 1024;
/// How long the delivery hold is kept alive once a payment starts (outlives recovery).
const HOLD_DURING_PAYMENT: Duration = Duration::from_secs(15 * 60);

pub struct App {
    grpc: TcpListener,
    http: TcpListener,
    metrics: metrics::Endpoint,
    pool: PgPool,
    gateway: Gateway,
    readiness: Readiness,
    config: Config,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database_url, config.db_max_connections).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let clients = Clients::connect_lazy(&config)?;
        let readiness = Readiness::new(pool.clone(), clients.channels.clone());
        let engine = Engine::new(
            clients.clone(),
            SagaLog::new(pool.clone(), config.saga_lease),
            HOLD_DURING_PAYMENT,
            config.saga_backoff_max,
        );
        let gateway = Gateway::new(Inner {
            pool: pool.clone(),
            auth: Authenticator::new(&config.jwt_secret),
            clients,
            engine,
            keys: Keys::new(pool.clone()),
            admission: Admission::new(config.checkout_concurrency as usize),
            payment_window: config.payment_window,
        });
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
        let engine = self.gateway.engine.clone();
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
        let keys = self.gateway.keys.clone();
        let purge = worker::spawn_periodic(
            "idempotency-expiry",
            Duration::from_secs(60),
            1000,
            shutdown.clone(),
            move || {
                let keys = keys.clone();
                async move { Ok(usize::try_from(keys.purge_expired().await?).unwrap_or(0)) }
            },
        );
        let consumer = events::spawn(
            self.gateway.clients.clone(),
            self.pool.clone(),
            shutdown.clone(),
        );
        let (log, pool) = (self.gateway.engine.log().clone(), self.pool.clone());
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
        let grpc = shop_common::grpc::serve(
            self.grpc,
            routes,
            &[
                "shop.gateway.v1.ShopService",
                "shop.gateway.v1.AdminService",
            ],
            shutdown.clone(),
        );
        let router = crate::http::router(self.gateway, self.readiness, &self.config);
        let http_stop = shutdown.clone();
        // Nagle off, as on the gRPC side: small JSON answers must not wait for ACKs.
        let listener = self.http.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "cannot set TCP_NODELAY");
            }
        });
        let http = axum::serve(listener, router)
            .with_graceful_shutdown(async move { http_stop.cancelled().await });
        tracing::info!(addr = %self.config.http_addr, "serving REST");
        let (grpc, http) = tokio::join!(grpc, http);
        let _ = tokio::join!(recovery, purge, consumer, sampler);
        // What is still being driven here would otherwise wait out its lease.
        handover.hand_over().await;
        metrics::stopped(metrics).await;
        grpc?;
        http?;
        Ok(())
    }
}
