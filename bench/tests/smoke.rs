//! The benchmark's smoke test (CI): the loadgen library against two in-process `Stack`s
//! (a build and its baseline) at concurrency 2 for about two seconds per phase. It
//! checks that checkouts succeed on every path, the hot product sells exactly its stock,
//! and the audit is clean. It asserts no timings.

use shop_bench::{
    cost::Probe,
    report,
    run::{self, Scenario},
    target::{Plan, Target},
};
use shop_e2e::Stack;

/// A build to measure: the in-process `stack`, its costs read from its own databases.
fn build(name: &str, stack: &Stack) -> run::Build {
    let d = &stack.databases;
    run::Build {
        name: name.into(),
        target: Target {
            gateway_grpc: stack.gateway.url(),
            gateway_http: stack.gateway_http,
            echo_grpc: stack.order.url(),
            jwt_secret: stack.jwt_secret.clone(),
            databases: d.clone(),
            redis_url: stack.redis_url.clone(),
            tools: None,
            probe: Probe::new(Vec::new(), d.gateway.clone(), d),
        },
    }
}

/// Two stacks of the same code stand for a build and its baseline, so the comparison
/// path (alternating phases, ratios, each build's hot product and audit) runs too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_checks_out_and_leaves_the_invariants_intact() {
    let (this, baseline) = (Stack::start().await.unwrap(), Stack::start().await.unwrap());
    let plan = Plan::test();

    let builds = [build("this build", &this), build("baseline", &baseline)];
    let results = run::run(&builds, &plan).await.unwrap();
    let text = report::render(&results, &report::machine(), "cargo test -p shop-bench");
    println!("{text}");

    for build in 0..builds.len() {
        for scenario in [
            Scenario::PlaceAndPay,
            Scenario::Checkout,
            Scenario::RestCheckout,
        ] {
            let row = results
                .row(build, scenario, plan.concurrencies[0])
                .unwrap_or_else(|| panic!("no row for {build} {scenario:?}:\n{text}"));
            assert!(row.stats.ok() > 0, "{scenario:?} never succeeded:\n{text}");
            assert_eq!(row.stats.failed(), 0, "{scenario:?} failed:\n{text}");
            // Each checkout commits in the gateway and in every service.
            let commits = row.cost.commits.unwrap_or(0.0);
            assert!(commits >= 4.0, "{commits} commits per checkout:\n{text}");
        }
    }
    assert!(text.contains("this build against baseline"), "{text}");
    let floor = results
        .primitives
        .iter()
        .filter(|r| r.name.starts_with("monolith floor"))
        .count();
    assert_eq!(floor, 2, "{text}");
    assert!(results.notes.iter().all(|n| !n.contains("floor")), "{text}");

    assert_eq!(results.hot.len(), 2, "{text}");
    for (_, hot) in &results.hot {
        assert_eq!(hot.answers.ok(), plan.hot_stock as u64, "{text}");
        assert_eq!(hot.oversold(), 0, "{text}");
        assert_eq!(hot.verified.stock_left, 0, "{text}");
        assert_eq!(hot.verified.charges, i64::from(plan.hot_stock), "{text}");
    }

    let svg = shop_bench::plot::svg(&results).expect("a plot of gRPC Checkout");
    assert_eq!(svg.matches("<polyline").count(), 2 * builds.len(), "{svg}");

    assert!(results.violations.is_empty(), "{text}");
}
