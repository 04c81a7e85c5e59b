//! The system under chaos: the four real binaries as child processes, two gateways on
//! one saga log, a private Redis (so it can be restarted), and a fault proxy on every
//! connection: the gateways to each service, each binary to its database, delivery-svc
//! to Redis.

use std::{net::SocketAddr, time::Duration};

use shop_e2e::{
    Databases, Options, Wiring,
    process::{Binary, GatewayWiring, Process, gateway_env, service_env},
};
use shop_testkit::{Fault, FaultProxy, PgServer, RedisServer};
use tokio::sync::Mutex;

/// The gateways' saga lease (`CHAOS_LEASE_SECONDS`, default 3): short, so that a
/// frozen gateway's sagas are taken over within a run (a live driver renews it every
/// third). The nemesis freezes a gateway for longer than this.
pub fn saga_lease() -> Duration {
    let seconds = std::env::var("CHAOS_LEASE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(seconds)
}
/// The longest backoff of a deferred saga: short, so that the run settles quickly.
pub const SAGA_BACKOFF_MAX: Duration = Duration::from_secs(3);
/// Receipts come on their own soon after delivery, so the event consumer works too.
const AUTO_RECEIVE_AFTER: Duration = Duration::from_secs(8);
const PAYMENT_WINDOW: Duration = Duration::from_secs(30);

/// The three internal services, in this order everywhere.
pub const SERVICES: [Binary; 3] = [Binary::Order, Binary::Payment, Binary::Delivery];

pub struct Cluster {
    pub databases: Databases,
    pub jwt_secret: String,
    redis: RedisServer,
    /// delivery-svc reaches Redis through it.
    pub redis_proxy: FaultProxy,
    /// The gateways reach order-svc, payment-svc and delivery-svc through these.
    pub proxies: [FaultProxy; 3],
    /// Each binary reaches its database through these: order, payment, delivery,
    /// gateway.
    pub db_proxies: [FaultProxy; 4],
    services: Mutex<Vec<Process>>,
    service_addrs: [SocketAddr; 3],
    service_wiring: Wiring,
    gateways: Mutex<Vec<Process>>,
    gateway_addrs: [(SocketAddr, SocketAddr); 2],
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], shop_testkit::free_port()))
}

impl Cluster {
    pub async fn start() -> anyhow::Result<Self> {
        let pg = PgServer::shared();
        let databases = Databases {
            order: pg.fresh_database().await,
            payment: pg.fresh_database().await,
            delivery: pg.fresh_database().await,
            gateway: pg.fresh_database().await,
        };
        let redis = RedisServer::start()?;
        let redis_proxy =
            FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], redis.port()))).await?;
        let db_proxies = [
            proxy_in_front_of(&databases.order).await?,
            proxy_in_front_of(&databases.payment).await?,
            proxy_in_front_of(&databases.delivery).await?,
            proxy_in_front_of(&databases.gateway).await?,
        ];
        let service_wiring = Wiring {
            databases: Databases {
                order: db_proxies[0].rewrite(&databases.order),
                payment: db_proxies[1].rewrite(&databases.payment),
                delivery: db_proxies[2].rewrite(&databases.delivery),
                gateway: db_proxies[3].rewrite(&databases.gateway),
            },
            redis_url: redis_proxy.rewrite(&redis.url()),
        };
        let service_addrs = [loopback(), loopback(), loopback()];
        let mut services = Vec::new();
        for (binary, addr) in SERVICES.into_iter().zip(service_addrs) {
            services.push(spawn_service(binary, addr, &service_wiring).await?);
        }
        let proxies = [
            FaultProxy::start(service_addrs[0]).await?,
            FaultProxy::start(service_addrs[1]).await?,
            FaultProxy::start(service_addrs[2]).await?,
        ];
        let jwt_secret = gateway::config::TEST_JWT_SECRET.to_owned();
        let mut cluster = Self {
            databases,
            jwt_secret,
            redis,
            redis_proxy,
            proxies,
            db_proxies,
            services: Mutex::new(services),
            service_addrs,
            service_wiring,
            gateways: Mutex::new(Vec::new()),
            gateway_addrs: [(loopback(), loopback()), (loopback(), loopback())],
        };
        let mut gateways = Vec::new();
        for i in 0..2 {
            gateways.push(cluster.spawn_gateway(i).await?);
        }
        cluster.gateways = Mutex::new(gateways);
        Ok(cluster)
    }

    /// Redis itself (not through the proxy), for the audit.
    pub fn redis_url(&self) -> String {
        self.redis.url()
    }

    /// `http://…` of gateway `i`'s gRPC face.
    pub fn gateway_url(&self, i: usize) -> String {
        format!("http://{}", self.gateway_addrs[i].0)
    }

    async fn spawn_gateway(&self, i: usize) -> anyhow::Result<Process> {
        let (grpc, http) = self.gateway_addrs[i];
        let wiring = GatewayWiring {
            database_url: self.service_wiring.databases.gateway.clone(),
            jwt_secret: self.jwt_secret.clone(),
            payment_window: PAYMENT_WINDOW,
            urls: [
                self.proxies[0].url(),
                self.proxies[1].url(),
                self.proxies[2].url(),
            ],
        };
        let mut env = gateway_env(&wiring, http);
        env.push(("SAGA_LEASE", format!("{}ms", saga_lease().as_millis())));
        env.push((
            "SAGA_BACKOFF_MAX",
            format!("{}ms", SAGA_BACKOFF_MAX.as_millis()),
        ));
        Process::spawn(Binary::Gateway, grpc, &env).await
    }

    /// SIGKILL, then a new process on the same port and database.
    pub async fn crash_service(&self, i: usize) -> anyhow::Result<()> {
        let mut services = self.services.lock().await;
        services[i].kill();
        services[i] =
            spawn_service(SERVICES[i], self.service_addrs[i], &self.service_wiring).await?;
        Ok(())
    }

    /// SIGKILL, then a new gateway on the same ports and saga log.
    pub async fn crash_gateway(&self, i: usize) -> anyhow::Result<()> {
        let mut gateways = self.gateways.lock().await;
        gateways[i].kill();
        gateways[i] = self.spawn_gateway(i).await?;
        Ok(())
    }

    /// Freezes gateway `i` (SIGSTOP) for `pause`, then lets it run on.
    pub async fn freeze_gateway(&self, i: usize, pause: Duration) {
        let gateways = self.gateways.lock().await;
        gateways[i].pause();
        tokio::time::sleep(pause).await;
        gateways[i].resume();
    }

    /// Redis killed and started again empty (no persistence): every hold is lost.
    pub fn restart_redis(&self) -> anyhow::Result<()> {
        self.redis.stop()?;
        self.redis.start_again()
    }

    /// Every proxy passes everything again, with fresh connections.
    pub fn heal(&self) {
        let all = self.proxies.iter().chain(&self.db_proxies);
        for proxy in all.chain([&self.redis_proxy]) {
            proxy.set(Fault::Pass);
            proxy.reset_connections();
        }
    }

    /// The last lines each process logged, for a failure report.
    pub async fn logs(&self) -> String {
        let mut out = String::new();
        for process in self
            .services
            .lock()
            .await
            .iter()
            .chain(self.gateways.lock().await.iter())
        {
            out.push_str(&format!(
                "--- {} ---\n{}\n",
                process.binary().name(),
                process.log_tail()
            ));
        }
        out
    }
}

/// A proxy in front of the server a database URL names.
async fn proxy_in_front_of(url: &str) -> anyhow::Result<FaultProxy> {
    let authority = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| anyhow::anyhow!("no host:port in {url}"))?;
    FaultProxy::start(authority.parse()?).await
}

async fn spawn_service(
    binary: Binary,
    addr: SocketAddr,
    wiring: &Wiring,
) -> anyhow::Result<Process> {
    let options = Options {
        auto_receive_after: AUTO_RECEIVE_AFTER,
        ..Options::default()
    };
    Process::spawn(binary, addr, &service_env(binary, wiring, &options)).await
}
