//! The benchmark's smoke test (CI): the loadgen library against an in-process `Stack`
//! at concurrency 2 for about two seconds per phase. It checks that checkouts succeed
//! on every path, the hot product sells exactly its stock, and the audit is clean. It
//! asserts no timings.

use shop_bench::{
    report,
    run::{self, Scenario},
    target::{Plan, Target},
};
use shop_e2e::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_checks_out_and_leaves_the_invariants_intact() {
    let stack = Stack::start().await.unwrap();
    let target = Target {
        gateway_grpc: stack.gateway.url(),
        gateway_http: stack.gateway_http,
        echo_grpc: stack.order.url(),
        jwt_secret: stack.jwt_secret.clone(),
        databases: stack.databases.clone(),
        redis_url: stack.redis_url.clone(),
        tools: None,
    };
    let plan = Plan::test();

    let results = run::run(&target, &plan).await.unwrap();
    let text = report::render(&results, &report::machine(), "cargo test -p shop-bench");
    println!("{text}");

    for scenario in [
        Scenario::PlaceAndPay,
        Scenario::Checkout,
        Scenario::RestCheckout,
    ] {
        let row = results
            .checkout
            .iter()
            .find(|r| r.scenario == scenario)
            .unwrap_or_else(|| panic!("no row for {scenario:?}:\n{text}"));
        assert!(row.stats.ok() > 0, "{scenario:?} never succeeded:\n{text}");
        assert_eq!(row.stats.failed(), 0, "{scenario:?} failed:\n{text}");
    }
    let floor = results
        .primitives
        .iter()
        .filter(|r| r.name.starts_with("monolith floor"))
        .count();
    assert_eq!(floor, 2, "{text}");
    assert!(results.notes.iter().all(|n| !n.contains("floor")), "{text}");

    let hot = results.hot.as_ref().unwrap();
    assert_eq!(hot.answers.ok(), plan.hot_stock as u64, "{text}");
    assert_eq!(hot.oversold(), 0, "{text}");
    assert_eq!(hot.verified.stock_left, 0, "{text}");
    assert_eq!(hot.verified.charges, i64::from(plan.hot_stock), "{text}");

    assert!(results.violations.is_empty(), "{text}");
}
