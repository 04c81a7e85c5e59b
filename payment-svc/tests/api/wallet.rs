//! Top-ups, idempotency keys, wallets and the ledger.

use shop_proto::payment::{ListLedgerRequest, TopUpRequest};
use tonic::Code;

use crate::helpers::{TestApp, assert_refused, id};

fn keyed(user: &str, amount: i64, key: &str) -> TopUpRequest {
    TopUpRequest {
        user_id: user.to_owned(),
        amount,
        idempotency_key: key.to_owned(),
    }
}

#[tokio::test]
async fn an_unknown_user_has_an_empty_wallet() {
    let app = TestApp::spawn().await;
    let user = id();
    let wallet = app.wallet(&user).await;
    assert_eq!(wallet.user_id, user);
    assert_eq!(wallet.balance, 0);
    assert!(wallet.coupons.is_empty());
    app.assert_invariants().await;
}

#[tokio::test]
async fn top_ups_add_up_and_are_in_the_ledger() {
    let app = TestApp::spawn().await;
    let user = id();
    assert_eq!(app.top_up(&user, 300).await.balance, 300);
    assert_eq!(
        app.top_up(&user, 1_000_000_000).await.balance,
        1_000_000_300
    );
    assert_eq!(app.balance(&user).await, 1_000_000_300);
    assert_eq!(app.balance(&id()).await, 0, "another user is untouched");
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_top_up_repeated_with_its_key_adds_once() {
    let app = TestApp::spawn().await;
    let user = id();
    let mut client = app.client.clone();
    let first = client
        .top_up(keyed(&user, 500, "k1"))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .top_up(keyed(&user, 500, "k1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.balance, 500);
    assert_eq!(again.balance, 500);
    // The same key is another user's own key.
    let other = id();
    client.top_up(keyed(&other, 70, "k1")).await.unwrap();
    assert_eq!(app.balance(&other).await, 70);
    assert_eq!(app.balance(&user).await, 500);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_key_reused_with_another_amount_is_refused() {
    let app = TestApp::spawn().await;
    let user = id();
    let mut client = app.client.clone();
    client.top_up(keyed(&user, 500, "k1")).await.unwrap();
    let err = client.top_up(keyed(&user, 501, "k1")).await.unwrap_err();
    assert_refused(&err, Code::FailedPrecondition, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.balance(&user).await, 500);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_top_ups_with_one_key_add_once() {
    let app = TestApp::spawn().await;
    let user = id();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let mut client = app.client.clone();
        let request = keyed(&user, 250, "same-key");
        calls.spawn(async move { client.top_up(request).await });
    }
    while let Some(result) = calls.join_next().await {
        let wallet = result.unwrap().expect("every repeat succeeds").into_inner();
        assert_eq!(wallet.balance, 250);
    }
    assert_eq!(app.balance(&user).await, 250);
    app.assert_invariants().await;
}

#[tokio::test]
async fn the_ledger_lists_every_movement_newest_first() {
    let app = TestApp::spawn().await;
    let (user, order, saga) = (id(), id(), id());
    app.top_up(&user, 1000).await;
    app.charge(&order, &saga, &user, 400, "").await.unwrap();
    app.refund(&order, &saga).await;

    let entries = app
        .client
        .clone()
        .list_ledger(ListLedgerRequest {
            user_id: user.clone(),
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let seen: Vec<(&str, i64, i64, &str)> = entries
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.amount,
                e.balance_after,
                e.order_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("REFUND", 400, 1000, order.as_str()),
            ("CHARGE", -400, 600, order.as_str()),
            ("TOP_UP", 1000, 1000, ""),
        ]
    );
    assert!(entries.iter().all(|e| e.user_id == user));

    let page = app
        .client
        .clone()
        .list_ledger(ListLedgerRequest {
            user_id: user,
            page_size: 1,
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].kind, "REFUND");
    app.assert_invariants().await;
}
