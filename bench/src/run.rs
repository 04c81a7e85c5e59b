//! One benchmark run, phase by phase: set-up, the primitives, the monolith floor,
//! checkout through the gateway (gRPC place+pay, gRPC Checkout, REST checkout) at each
//! concurrency, the hot product, and the invariant audit.

use std::time::Duration;

use gateway::auth::Role;
use uuid::Uuid;

use crate::{
    audit,
    driver::{self, Limits, Worker},
    floor::{self, Floor},
    hot::{self, HotReport},
    primitives::{self, Measured},
    shop::{Catalog, Shopper, shoppers},
    stats::Stats,
    target::{Plan, Target},
};

/// The ways the load reaches the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    PlaceAndPay,
    Checkout,
    RestCheckout,
}

impl Scenario {
    pub fn label(self) -> &'static str {
        match self {
            Self::PlaceAndPay => "gRPC PlaceOrder + PayOrder",
            Self::Checkout => "gRPC Checkout",
            Self::RestCheckout => "REST POST /v1/checkout",
        }
    }
}

/// One measured checkout run.
#[derive(Debug, Clone)]
pub struct CheckoutRow {
    pub scenario: Scenario,
    pub concurrency: usize,
    pub stats: Stats,
}

/// One measured primitive.
#[derive(Debug, Clone)]
pub struct PrimitiveRow {
    pub name: &'static str,
    pub measured: Measured,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub mode: &'static str,
    pub checkout: Vec<CheckoutRow>,
    pub primitives: Vec<PrimitiveRow>,
    pub hot: Option<HotReport>,
    /// The audit's findings (and any oversell): empty when clean.
    pub violations: Vec<String>,
    /// What could not be measured, and why.
    pub notes: Vec<String>,
    /// `fsync=on, ...` as the server reports it, when known.
    pub durability: Option<String>,
}

impl Results {
    /// Checkout throughput over gRPC Checkout at `concurrency`, the yardstick for ratios.
    pub fn checkout_rate(&self, concurrency: usize) -> Option<f64> {
        self.checkout
            .iter()
            .find(|r| r.scenario == Scenario::Checkout && r.concurrency == concurrency)
            .map(|r| r.stats.throughput())
    }
}

/// Prints where the run is (stderr; the report goes to stdout).
pub fn progress(what: &str) {
    eprintln!("==> {what}");
}

pub async fn run(target: &Target, plan: &Plan) -> anyhow::Result<Results> {
    let mut results = Results {
        mode: plan.mode,
        ..Results::default()
    };
    progress(&format!(
        "setting up: {} products, {} shoppers",
        plan.products,
        plan.most_shoppers()
    ));
    let load_before = load_average();
    let admin = Shopper::connect(target, Role::Admin).await?;
    let catalog = Catalog::create(&admin, plan.products).await?;
    let users = shoppers(target, &admin, plan.most_shoppers()).await?;

    measure_primitives(target, plan, &mut results).await;
    measure_floor(target, plan, &users, &catalog, &mut results).await?;

    let mut scenarios = vec![Scenario::PlaceAndPay, Scenario::Checkout];
    if plan.rest {
        scenarios.push(Scenario::RestCheckout);
    }
    for scenario in scenarios {
        for &concurrency in &plan.concurrencies {
            let workers = || load(scenario, &users[..concurrency], &catalog);
            if !plan.warmup.is_zero() {
                driver::run(workers(), Limits::for_duration(plan.warmup)).await;
            }
            let stats = driver::run(workers(), Limits::for_duration(plan.checkout_time)).await;
            progress(&format!(
                "{} c={concurrency}: {:.1}/s, {} ok, {} failed",
                scenario.label(),
                stats.throughput(),
                stats.ok(),
                stats.failed()
            ));
            results.checkout.push(CheckoutRow {
                scenario,
                concurrency,
                stats,
            });
        }
    }

    progress(&format!(
        "hot product: {} buyers for {} units",
        plan.hot_buyers, plan.hot_stock
    ));
    let report = hot::run(target, &admin, plan.hot_buyers, plan.hot_stock).await?;
    if report.oversold() > 0 {
        results.violations.push(format!(
            "hot product oversold by {} unit(s): {:?}",
            report.oversold(),
            report.verified
        ));
    }
    if !report.conserved() {
        results.violations.push(format!(
            "hot product stock does not add up: {:?} for {} units",
            report.verified, report.stock
        ));
    }
    results.hot = Some(report);

    progress("invariant audit (waits for every saga to end)");
    results
        .violations
        .extend(audit::violations(&target.databases, &target.redis_url).await);
    results.notes.push(format!(
        "load average (1, 5, 15 min) before: {load_before}; after: {} (other work on the machine skews the numbers)",
        load_average()
    ));
    Ok(results)
}

/// `/proc/loadavg`'s first three fields.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// One worker per shopper repeating `scenario` on random baskets.
fn load(scenario: Scenario, users: &[Shopper], catalog: &Catalog) -> Vec<Worker> {
    users
        .iter()
        .map(|shopper| {
            let (shopper, catalog) = (shopper.clone(), catalog.clone());
            Box::new(move || {
                let (shopper, lines) = (shopper.clone(), catalog.basket());
                match scenario {
                    Scenario::PlaceAndPay => {
                        Box::pin(shopper.place_and_pay(lines)) as driver::Attempt
                    }
                    Scenario::Checkout => Box::pin(shopper.checkout(lines)),
                    Scenario::RestCheckout => Box::pin(shopper.checkout_rest(lines)),
                }
            }) as Worker
        })
        .collect()
}

async fn measure_primitives(target: &Target, plan: &Plan, results: &mut Results) {
    for &concurrency in &plan.concurrencies {
        match primitives::echo(target, concurrency, plan.primitive_time).await {
            Ok(stats) => results.primitives.push(PrimitiveRow {
                name: "tonic unary RPC (grpc.health Check on order-svc)",
                measured: Measured {
                    concurrency,
                    ops_per_sec: stats.throughput(),
                    latency_ms: stats.latency().p50,
                    latency_kind: "p50",
                },
            }),
            Err(err) => results.notes.push(format!("echo c={concurrency}: {err:#}")),
        }
    }
    let Some(tools) = &target.tools else {
        results
            .notes
            .push("pgbench and redis-benchmark not run (no tools configured)".into());
        return;
    };
    progress("primitives: pgbench, redis-benchmark");
    if let Err(err) = primitives::prepare_scratch(tools).await {
        results
            .notes
            .push(format!("pgbench scratch table: {err:#}"));
        return;
    }
    results.durability = primitives::durability(tools).await.ok();
    for &concurrency in &plan.concurrencies {
        match primitives::postgres_commit(tools, concurrency, plan.primitive_time).await {
            Ok(measured) => results.primitives.push(PrimitiveRow {
                name: "Postgres single-row UPDATE commit (pgbench)",
                measured,
            }),
            Err(err) => results
                .notes
                .push(format!("pgbench c={concurrency}: {err:#}")),
        }
    }
    let requests = (plan.primitive_time.as_secs_f64() * 10_000.0) as u64;
    for &concurrency in &plan.concurrencies {
        match primitives::redis_round_trip(tools, concurrency, requests.max(1000)).await {
            Ok(found) => {
                for (command, measured) in found {
                    results.primitives.push(PrimitiveRow {
                        name: if command == "SET" {
                            "Redis SET round trip (redis-benchmark)"
                        } else {
                            "Redis GET round trip (redis-benchmark)"
                        },
                        measured,
                    });
                }
            }
            Err(err) => results
                .notes
                .push(format!("redis-benchmark c={concurrency}: {err:#}")),
        }
    }
}

async fn measure_floor(
    target: &Target,
    plan: &Plan,
    users: &[Shopper],
    catalog: &Catalog,
    results: &mut Results,
) -> anyhow::Result<()> {
    progress("monolith floor: the services' SQL and Redis work in-process");
    let floor = Floor::connect(target).await?;
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    for (with_log, name) in [
        (
            false,
            "monolith floor: checkout SQL + Redis in-process, no RPC",
        ),
        (true, "monolith floor + gateway saga log writes"),
    ] {
        for &concurrency in &plan.concurrencies {
            let limits =
                Limits::for_duration(plan.primitive_time.max(Duration::from_millis(500)) * 2);
            let stats = floor::run(&floor, &ids[..concurrency], catalog, with_log, limits).await;
            if stats.failed() > 0 {
                results.notes.push(format!(
                    "{name} c={concurrency}: {} failed: {}",
                    stats.failed(),
                    stats.failures_text()
                ));
            }
            results.primitives.push(PrimitiveRow {
                name,
                measured: Measured {
                    concurrency,
                    ops_per_sec: stats.throughput(),
                    latency_ms: stats.latency().p50,
                    latency_kind: "p50",
                },
            });
        }
    }
    Ok(())
}
