//! One benchmark run, phase by phase: set-up, the primitives, the monolith floor,
//! checkout through the gateway (gRPC place+pay, gRPC Checkout, REST checkout) at each
//! concurrency with its cost per checkout, the hot product, and the invariant audit;
//! for each build when a baseline is compared.

use std::time::Duration;

use gateway::auth::Role;
use uuid::Uuid;

use crate::{
    audit,
    cost::{Counters, PerCheckout},
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
    /// Index into [`Results::builds`].
    pub build: usize,
    pub scenario: Scenario,
    pub concurrency: usize,
    pub stats: Stats,
    pub cost: PerCheckout,
}

/// One measured primitive.
#[derive(Debug, Clone)]
pub struct PrimitiveRow {
    pub name: &'static str,
    pub measured: Measured,
}

/// A system to measure and what the report calls it.
pub struct Build {
    pub name: String,
    pub target: Target,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub mode: &'static str,
    /// The measured builds' names: this build first, then the baseline if any.
    pub builds: Vec<String>,
    pub checkout: Vec<CheckoutRow>,
    pub primitives: Vec<PrimitiveRow>,
    /// The hot product of each build (index into `builds`).
    pub hot: Vec<(usize, HotReport)>,
    /// The audit's findings (and any oversell): empty when clean.
    pub violations: Vec<String>,
    /// What could not be measured, and why.
    pub notes: Vec<String>,
    /// `fsync=on, ...` as the server reports it, when known.
    pub durability: Option<String>,
}

impl Results {
    /// This build's gRPC Checkout throughput at `concurrency`, the yardstick for ratios.
    pub fn checkout_rate(&self, concurrency: usize) -> Option<f64> {
        self.row(0, Scenario::Checkout, concurrency)
            .map(|r| r.stats.throughput())
    }

    /// The row of `build`, `scenario` and `concurrency`.
    pub fn row(
        &self,
        build: usize,
        scenario: Scenario,
        concurrency: usize,
    ) -> Option<&CheckoutRow> {
        self.checkout
            .iter()
            .find(|r| r.build == build && r.scenario == scenario && r.concurrency == concurrency)
    }
}

/// Prints where the run is (stderr; the report goes to stdout).
pub fn progress(what: &str) {
    eprintln!("==> {what}");
}

/// One build's shoppers and catalog.
struct Prepared<'a> {
    target: &'a Target,
    admin: Shopper,
    catalog: Catalog,
    users: Vec<Shopper>,
}

/// Measures every build phase by phase: each checkout phase runs the builds in turns
/// ([`measure_phase`]), so that drift of the machine's speed falls on all of them. The
/// primitives and the floor run once (the floor is this build's code, in-process).
pub async fn run(builds: &[Build], plan: &Plan) -> anyhow::Result<Results> {
    anyhow::ensure!(!builds.is_empty(), "nothing to measure");
    let mut results = Results {
        mode: plan.mode,
        builds: builds.iter().map(|b| b.name.clone()).collect(),
        ..Results::default()
    };
    progress(&format!(
        "setting up: {} products, {} shoppers per build",
        plan.products,
        plan.most_shoppers()
    ));
    let load_before = load_average();
    let mut prepared = Vec::with_capacity(builds.len());
    for build in builds {
        let admin = Shopper::connect(&build.target, Role::Admin).await?;
        let catalog = Catalog::create(&admin, plan.products).await?;
        let users = shoppers(&build.target, &admin, plan.most_shoppers()).await?;
        prepared.push(Prepared {
            target: &build.target,
            admin,
            catalog,
            users,
        });
    }
    let this = &prepared[0];
    measure_primitives(this.target, plan, &mut results).await;
    measure_floor(this.target, plan, &this.users, &this.catalog, &mut results).await?;

    let mut scenarios = vec![Scenario::PlaceAndPay, Scenario::Checkout];
    if plan.rest {
        scenarios.push(Scenario::RestCheckout);
    }
    for (phase, (scenario, concurrency)) in scenarios
        .iter()
        .flat_map(|&s| plan.concurrencies.iter().map(move |&c| (s, c)))
        .enumerate()
    {
        let rows = measure_phase(&prepared, scenario, concurrency, plan, phase).await;
        for row in rows {
            progress(&format!(
                "[{}] {} c={concurrency}: {:.1}/s, {} ok, {} failed, {:.1} ms CPU per checkout",
                results.builds[row.build],
                scenario.label(),
                row.stats.throughput(),
                row.stats.ok(),
                row.stats.failed(),
                row.cost.total_cpu_ms()
            ));
            results.checkout.push(row);
        }
    }

    for (build, p) in prepared.iter().enumerate() {
        let name = &results.builds[build];
        progress(&format!(
            "[{name}] hot product: {} buyers for {} units",
            plan.hot_buyers, plan.hot_stock
        ));
        let report = hot::run(p.target, &p.admin, plan.hot_buyers, plan.hot_stock).await?;
        if report.oversold() > 0 {
            results.violations.push(format!(
                "[{name}] hot product oversold by {} unit(s): {:?}",
                report.oversold(),
                report.verified
            ));
        }
        if !report.conserved() {
            results.violations.push(format!(
                "[{name}] hot product stock does not add up: {:?} for {} units",
                report.verified, report.stock
            ));
        }
        results.hot.push((build, report));
    }

    for (build, p) in prepared.iter().enumerate() {
        let name = &results.builds[build];
        progress(&format!(
            "[{name}] invariant audit (waits for every saga to end)"
        ));
        let found = audit::violations(&p.target.databases, &p.target.redis_url).await;
        results
            .violations
            .extend(found.into_iter().map(|v| format!("[{name}] {v}")));
    }
    results.notes.push(format!(
        "load average (1, 5, 15 min) before: {load_before}; after: {} (other work on the machine skews the numbers)",
        load_average()
    ));
    Ok(results)
}

/// One phase of every build: a warm-up each, then [`Plan::rounds`] measured slices
/// each, the builds' order turning round from slice to slice (and from phase to phase:
/// AB BA AB, then BA AB BA), so that a change of the machine's speed during the phase
/// falls on all of them. Each build's slices add up to [`Plan::checkout_time`].
async fn measure_phase(
    prepared: &[Prepared<'_>],
    scenario: Scenario,
    concurrency: usize,
    plan: &Plan,
    phase: usize,
) -> Vec<CheckoutRow> {
    let workers = |p: &Prepared<'_>| load(scenario, &p.users[..concurrency], &p.catalog);
    let order = |slice: usize| -> Vec<usize> {
        let mut builds: Vec<usize> = (0..prepared.len()).collect();
        if (slice + phase) % 2 == 1 {
            builds.reverse();
        }
        builds
    };
    if !plan.warmup.is_zero() {
        for build in order(0) {
            driver::run(workers(&prepared[build]), Limits::for_duration(plan.warmup)).await;
        }
    }
    let rounds = plan.rounds.max(1);
    let slice_time = plan.checkout_time / u32::try_from(rounds).unwrap_or(u32::MAX);
    let mut measured: Vec<(Stats, Counters)> = vec![Default::default(); prepared.len()];
    for slice in 0..rounds {
        for build in order(slice) {
            let p = &prepared[build];
            let before = p.target.probe.sample().await;
            let stats = driver::run(workers(p), Limits::for_duration(slice_time)).await;
            let usage = p.target.probe.sample().await.since(&before);
            let (total, used) = &mut measured[build];
            total.append(stats);
            used.add(&usage);
        }
    }
    let mut rows: Vec<CheckoutRow> = measured
        .into_iter()
        .enumerate()
        .map(|(build, (stats, usage))| CheckoutRow {
            build,
            scenario,
            concurrency,
            cost: usage.per(stats.ok()),
            stats,
        })
        .collect();
    rows.sort_by_key(|r| order(0).iter().position(|&b| b == r.build));
    rows
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
