//! The nemesis: one fault at a time, chosen by the seeded generator, for a random
//! short while: a proxy delaying, dropping answers, swallowing everything or refusing;
//! a service or a gateway SIGKILLed and restarted; Redis restarted empty; a gateway
//! frozen (SIGSTOP) past its saga lease, then thawed.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use rand::{Rng, SeedableRng, rngs::StdRng};
use shop_testkit::Fault;
use tokio::time::Instant;

use crate::cluster::{Cluster, saga_lease};

/// What was injected, by kind, for the report.
pub type Injected = BTreeMap<&'static str, u32>;

pub async fn run(cluster: Arc<Cluster>, seed: u64, for_: Duration) -> anyhow::Result<Injected> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut injected = Injected::new();
    let until = Instant::now() + for_;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1200))).await;
        let lasting = Duration::from_millis(rng.random_range(500..3500));
        let kind = match rng.random_range(0..100) {
            0..45 => proxy_fault(&cluster, &mut rng, lasting).await,
            45..57 => {
                let i = rng.random_range(0..3);
                cluster.crash_service(i).await?;
                "service SIGKILLed and restarted"
            }
            57..67 => {
                let i = rng.random_range(0..2);
                cluster.crash_gateway(i).await?;
                "gateway SIGKILLed and restarted"
            }
            67..75 => {
                cluster.restart_redis()?;
                "redis restarted empty"
            }
            _ => {
                let i = rng.random_range(0..2);
                let past_lease = saga_lease() + Duration::from_millis(rng.random_range(500..2500));
                cluster.freeze_gateway(i, past_lease).await;
                "gateway frozen past its lease"
            }
        };
        *injected.entry(kind).or_default() += 1;
    }
    cluster.heal();
    Ok(injected)
}

async fn proxy_fault(cluster: &Cluster, rng: &mut StdRng, lasting: Duration) -> &'static str {
    let (proxy, target) = match rng.random_range(0..8) {
        0 => (&cluster.proxies[0], "service"),
        1 => (&cluster.proxies[1], "service"),
        2 => (&cluster.proxies[2], "service"),
        3 => (&cluster.db_proxies[0], "database"),
        4 => (&cluster.db_proxies[1], "database"),
        5 => (&cluster.db_proxies[2], "database"),
        6 => (&cluster.db_proxies[3], "database"),
        _ => (&cluster.redis_proxy, "redis"),
    };
    let (fault, kind) = match rng.random_range(0..6) {
        0 => (
            Fault::delay(Duration::from_millis(rng.random_range(50..1500))),
            "latency",
        ),
        1 => (
            Fault::Delay {
                up: Duration::ZERO,
                down: Duration::from_millis(rng.random_range(2000..5000)),
            },
            "answers late (past the per-call limit)",
        ),
        2 => (
            Fault::DropAnswers,
            "answers dropped after the request went through",
        ),
        3 => (Fault::Blackhole, "blackhole"),
        4 => (Fault::Garble, "garbled"),
        _ => (Fault::Refuse, "connections reset and refused"),
    };
    proxy.set(fault);
    tokio::time::sleep(lasting).await;
    proxy.set(Fault::Pass);
    proxy.reset_connections();
    match (target, kind) {
        ("redis", _) => "redis proxy fault",
        ("database", "latency") => "database latency",
        ("database", "garbled") => "database answers garbled (work done, error seen)",
        ("database", "answers dropped after the request went through") => {
            "database answers dropped after the query ran"
        }
        ("database", _) => "database blackholed, refused or slow to answer",
        (_, "latency") => "latency to a service",
        (_, "blackhole") => "blackhole to a service",
        (_, "garbled") => "a service's answers garbled",
        (_, "connections reset and refused") => "connections to a service reset and refused",
        (_, "answers dropped after the request went through") => {
            "a service's answers dropped after the request went through"
        }
        _ => "a service's answers late past the per-call limit",
    }
}
