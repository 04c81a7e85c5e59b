//! The storefront and the operator console in a real headless Chromium
//! (`tests/browser/pages.cjs` with playwright-core), on real stacks; what the pages
//! show is then checked against the REST API and the databases. Screenshots are
//! saved in `target/tmp/web/`.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use shop_e2e::{Options, Stack};
use shop_testkit::Fault;
use sqlx::PgPool;
use tokio::process::Command;
use uuid::Uuid;

use crate::{http::send, tools};

const PAGE_DEADLINE: Duration = Duration::from_secs(120);

/// Runs one scenario of `pages.cjs`; its JSON summary (with no page error, console
/// error or request to another origin).
async fn drive(scenario: &str, stack: &Stack, token: &str, env: &[(&str, &str)]) -> Value {
    let mut node = Command::new("node");
    node.arg(tools::repo().join("tests/browser/pages.cjs"))
        .arg(scenario)
        .env(
            "SHOP_PLAYWRIGHT",
            tools::dir().await.join("node/node_modules/playwright-core"),
        )
        .env("BASE_URL", format!("http://{}", stack.gateway_http))
        .env("TOKEN", token)
        .env("SCREENSHOTS", tools::artifacts())
        .envs(env.iter().copied());
    let out = tools::run(node, PAGE_DEADLINE).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{scenario} failed (screenshots in {}):\n{stdout}\n{}",
        tools::artifacts().display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{scenario}: no summary ({e}):\n{stdout}"));
    assert_eq!(
        summary["problems"],
        serde_json::json!([]),
        "{scenario}: {summary}"
    );
    summary
}

async fn pool(url: &str) -> PgPool {
    shop_common::db::connect(url, 2).await.unwrap()
}

/// Polls `check` every 20 ms until it holds or `within` passes.
async fn until<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < end {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn the_storefront_checks_out_and_sees_paid() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Green Tea", 1200, 10).await;
    admin.create_product("Rice Cooker", 9000, 3).await;
    admin.top_up(user.id, 10_000).await;

    let seen = drive(
        "storefront",
        &stack,
        &user.token,
        &[("PRODUCT", "Green Tea")],
    )
    .await;
    assert_eq!(seen["status"], "PAID", "{seen}");
    let history = seen["history"].to_string();
    assert!(
        history.contains("PENDING_PAYMENT") && history.contains("PAID"),
        "{history}"
    );

    // The REST API agrees with what the page showed.
    let order_id = seen["orderId"].as_str().unwrap();
    let base = format!("http://{}", stack.gateway_http);
    let (s, _, order) = send(
        Method::GET,
        &format!("{base}/v1/orders/{order_id}"),
        Some(&user.token),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200, "{order}");
    assert_eq!(order["status"], "ORDER_STATUS_PAID");
    assert_eq!(order["totalAmount"], "2400");
    assert_eq!(order["lines"][0]["productId"], product.id.as_str());
    assert_eq!(order["delivery"]["info"]["recipientName"], "Choi Test");
    assert_eq!(user.wallet().await.balance, 7600);
    assert_eq!(user.stock_of(&product.id).await, 8);

    let docs = drive("docs", &stack, "", &[]).await;
    assert!(docs["operations"].as_u64().unwrap() >= 20, "{docs}");
    stack.audit().await;
}

/// A PAY saga made STUCK on purpose, past the pivot: while it waits in DELIVER behind
/// a slowed delivery-svc, the order is made to name another saga, so order-svc
/// refuses MarkPaid (a definite refusal after the charge). The order is put right
/// again before the operator presses Retry in the console.
#[tokio::test]
async fn the_console_shows_a_stuck_saga_and_retry_finishes_it() {
    let stack = Stack::with(Options {
        faults: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Kettle", 2500, 5).await;
    admin.top_up(user.id, 10_000).await;
    let order = user.place(&[(&product.id, 1)]).await.unwrap();
    let order_uuid = Uuid::parse_str(&order.id).unwrap();
    let (gateway_db, order_db) = (
        pool(&stack.databases.gateway).await,
        pool(&stack.databases.order).await,
    );

    stack
        .faults()
        .delivery
        .set(Fault::delay(Duration::from_millis(300)));
    let paying = tokio::spawn({
        let (user, id) = (user.clone(), order.id.clone());
        async move { user.pay(&id, "").await }
    });
    let saga_at = |step: &'static str| {
        let db = gateway_db.clone();
        async move {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM sagas WHERE order_id = $1 AND kind = 'PAY' AND step = $2",
            )
            .bind(order_uuid)
            .bind(step)
            .fetch_optional(&db)
            .await
            .unwrap()
        }
    };
    assert!(
        until(Duration::from_secs(30), || async {
            saga_at("DELIVER").await.is_some()
        })
        .await,
        "the saga reaches DELIVER"
    );
    let saga = saga_at("DELIVER").await.unwrap();
    let named: Uuid = sqlx::query_scalar("SELECT saga_id FROM orders WHERE id = $1")
        .bind(order_uuid)
        .fetch_one(&order_db)
        .await
        .unwrap();
    assert_eq!(named, saga);
    sqlx::query("UPDATE orders SET saga_id = $2 WHERE id = $1")
        .bind(order_uuid)
        .bind(Uuid::now_v7())
        .execute(&order_db)
        .await
        .unwrap();
    stack.faults().delivery.set(Fault::Pass);
    let state = |db: PgPool| async move {
        sqlx::query_scalar::<_, String>("SELECT state FROM sagas WHERE id = $1")
            .bind(saga)
            .fetch_one(&db)
            .await
            .unwrap()
    };
    assert!(
        until(Duration::from_secs(30), || async {
            state(gateway_db.clone()).await == "STUCK"
        })
        .await,
        "MarkPaid refused past the pivot makes the saga STUCK (now {})",
        state(gateway_db.clone()).await
    );
    let _ = paying.await;
    // The operator fixes the cause first.
    sqlx::query("UPDATE orders SET saga_id = $2 WHERE id = $1")
        .bind(order_uuid)
        .bind(saga)
        .execute(&order_db)
        .await
        .unwrap();

    let seen = drive(
        "console",
        &stack,
        &admin.token,
        &[("SAGA_ID", &saga.to_string())],
    )
    .await;
    assert_eq!(seen["state"], "COMPLETED", "{seen}");
    let last_error = seen["lastError"].as_str().unwrap_or_default();
    assert!(
        last_error.contains("refused"),
        "the console showed why: {seen}"
    );
    let timeline = seen["timeline"].to_string();
    for step in ["CHARGE", "DELIVER", "FINISH"] {
        assert!(
            timeline.contains(step),
            "the timeline shows {step}: {timeline}"
        );
    }

    // The REST state agrees with the console.
    let base = format!("http://{}", stack.gateway_http);
    let (s, _, detail) = send(
        Method::GET,
        &format!("{base}/v1/admin/sagas/{saga}"),
        Some(&admin.token),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200, "{detail}");
    assert_eq!(detail["saga"]["state"], "SAGA_STATE_COMPLETED");
    let (s, _, paid) = send(
        Method::GET,
        &format!("{base}/v1/orders/{}", order.id),
        Some(&user.token),
        &[],
        None,
    )
    .await;
    assert_eq!(s, 200, "{paid}");
    assert_eq!(paid["status"], "ORDER_STATUS_PAID");
    assert_eq!(paid["delivery"]["status"], "DELIVERY_STATUS_PREPARING");
    stack.audit().await;
}
