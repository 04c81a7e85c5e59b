//! The gateway's front door under pressure: a sold-out purchase is refused before
//! anything is made, and checkouts beyond CHECKOUT_CONCURRENCY wait their turn or are
//! turned away with OVERLOADED, having changed nothing.

use std::time::Duration;

use shop_e2e::{Options, Stack};
use shop_proto::common::OrderStatus;
use sqlx::PgPool;
use tonic::Code;
use uuid::Uuid;

use crate::support::{assert_error, status_of};

#[tokio::test]
async fn a_sold_out_purchase_is_refused_before_anything_is_made() {
    let stack = Stack::start().await.unwrap();
    let admin = stack.admin().await;
    let (first, late, waiting) = (stack.user().await, stack.user().await, stack.user().await);
    let product = admin.create_product("Last lamp", 700, 1).await;
    for buyer in [&first, &late, &waiting] {
        admin.top_up(buyer.id, 1_000).await;
    }
    let unpaid = waiting.place(&[(&product.id, 1)]).await.unwrap();
    let bought = first.checkout(&[(&product.id, 1)], "").await.unwrap();
    assert_eq!(status_of(&bought), OrderStatus::Paid);

    // Checkout of the sold-out lamp: refused, and no order or hold is left behind.
    let refused = assert_error(
        late.checkout(&[(&product.id, 1)], "").await,
        Code::FailedPrecondition,
        "OUT_OF_STOCK",
    );
    assert!(refused.message().contains("Last lamp"), "{refused:?}");
    assert!(late.orders().await.is_empty(), "no order was placed");
    assert_eq!(late.wallet().await.balance, 1_000);

    // Paying an order placed before the sell-out: refused without starting a saga.
    assert_error(
        waiting.pay(&unpaid.id, "").await,
        Code::FailedPrecondition,
        "OUT_OF_STOCK",
    );
    let order = waiting.order(&unpaid.id).await.unwrap();
    assert_eq!(
        status_of(&order),
        OrderStatus::PendingPayment,
        "still payable later"
    );
    let gateway = PgPool::connect(&stack.databases.gateway).await.unwrap();
    let sagas: i64 = sqlx::query_scalar("SELECT count(*) FROM sagas WHERE order_id = $1")
        .bind(Uuid::parse_str(&unpaid.id).unwrap())
        .fetch_one(&gateway)
        .await
        .unwrap();
    assert_eq!(sagas, 0);
    assert_eq!(waiting.wallet().await.balance, 1_000);
    assert_eq!(admin.stock_of(&product.id).await, 0);
    stack.audit().await;
}

#[tokio::test]
async fn checkouts_beyond_the_limit_wait_their_turn_or_are_turned_away() {
    // 8 patient buyers, then 56 hurried ones: more than one turn at a time serves in
    // half of 1 s even when a checkout takes only 10 ms.
    const BUYERS: usize = 64;
    let stack = Stack::with(Options {
        checkout_concurrency: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    let admin = stack.admin().await;
    let product = admin.create_product("Socks", 10, 1_000).await;
    let mut buyers = Vec::new();
    for _ in 0..BUYERS {
        let buyer = stack.user().await;
        admin.top_up(buyer.id, 100).await;
        buyers.push(buyer);
    }
    let items = [(product.id.as_str(), 1)];

    // With the default budget (10 s) everyone gets a turn, one after another.
    let patient = &buyers[..8];
    let results = futures::future::join_all(patient.iter().map(|b| b.checkout(&items, ""))).await;
    for result in &results {
        assert_eq!(status_of(result.as_ref().unwrap()), OrderStatus::Paid);
    }

    // With 1 s each, one turn at a time cannot serve them all: some are turned away
    // (having waited at most half their budget), and those left nothing behind.
    let hurried = &buyers[8..];
    let results = futures::future::join_all(
        hurried
            .iter()
            .map(|b| b.checkout_within(&items, Duration::from_secs(1))),
    )
    .await;
    let mut turned_away = 0;
    for (buyer, result) in hurried.iter().zip(&results) {
        let Err(status) = result else { continue };
        if status.code() == Code::ResourceExhausted {
            assert_eq!(
                shop_common::status::reason(status).as_deref(),
                Some("OVERLOADED"),
                "{status:?}"
            );
            assert!(
                buyer.orders().await.is_empty(),
                "nothing placed: {status:?}"
            );
            assert_eq!(buyer.wallet().await.balance, 100);
            turned_away += 1;
        }
    }
    assert!(turned_away > 0, "{results:?}");
    assert!(
        turned_away < hurried.len(),
        "the turn still serves someone: {results:?}"
    );
    stack.audit().await;
}
