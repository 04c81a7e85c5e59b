//! ReserveStock and ReleaseStock: no oversell under concurrency, all-or-nothing
//! reserves, and the fence between a reserve and its release.

use std::sync::Arc;

use tokio::task::JoinSet;
use tonic::Code;

use crate::helpers::{TestApp, assert_error, line, new_id, spawn_app};

#[tokio::test]
async fn fifty_concurrent_reserves_of_ten_items_sell_exactly_ten() {
    let app = Arc::new(spawn_app().await);
    let hot = app.product("hot item", 100, 10).await;
    let mut held = Vec::new();
    for _ in 0..50 {
        let order = app.order(vec![line(&hot.id, 1)]).await;
        let saga = new_id();
        app.begin(&order.id, &saga).await.unwrap();
        held.push((order.id, saga));
    }

    let mut calls = JoinSet::new();
    for (order_id, saga) in held {
        let app = Arc::clone(&app);
        calls.spawn(async move { app.reserve(&order_id, &saga).await });
    }
    let (mut reserved, mut out_of_stock) = (0, 0);
    while let Some(result) = calls.join_next().await {
        match result.expect("task") {
            Ok(response) => {
                assert!(response.into_inner().reserved);
                reserved += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                assert_eq!(
                    shop_common::status::reason(&status).as_deref(),
                    Some("OUT_OF_STOCK")
                );
                out_of_stock += 1;
            }
        }
    }
    assert_eq!((reserved, out_of_stock), (10, 40));
    assert_eq!(app.stock(&hot.id).await, 0);
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn a_reserve_short_on_one_line_takes_nothing() {
    let app = spawn_app().await;
    let plenty = app.product("plenty", 10, 5).await;
    let scarce = app.product("scarce thing", 10, 1).await;
    let order = app
        .order(vec![line(&plenty.id, 2), line(&scarce.id, 2)])
        .await;
    let saga = new_id();
    app.begin(&order.id, &saga).await.unwrap();

    let status = assert_error(
        app.reserve(&order.id, &saga).await,
        Code::FailedPrecondition,
        "OUT_OF_STOCK",
    );
    assert!(status.message().contains(&scarce.id), "{status:?}");
    assert!(status.message().contains("scarce thing"), "{status:?}");
    assert_eq!(
        (app.stock(&plenty.id).await, app.stock(&scarce.id).await),
        (5, 1)
    );
    app.assert_stock_conserved().await;

    // Nothing was fenced either: after a restock the same saga can reserve.
    app.client()
        .adjust_stock(shop_proto::order::AdjustStockRequest {
            product_id: scarce.id.clone(),
            delta: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        app.reserve(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .reserved
    );
    assert_eq!(
        (app.stock(&plenty.id).await, app.stock(&scarce.id).await),
        (3, 0)
    );
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn lines_of_the_same_product_are_reserved_together() {
    let app = spawn_app().await;
    let mug = app.product("mug", 10, 5).await;
    let order = app.order(vec![line(&mug.id, 3), line(&mug.id, 3)]).await;
    let saga = new_id();
    app.begin(&order.id, &saga).await.unwrap();
    assert_error(
        app.reserve(&order.id, &saga).await,
        Code::FailedPrecondition,
        "OUT_OF_STOCK",
    );
    assert_eq!(app.stock(&mug.id).await, 5);
}

/// The interleaving: a transaction holds the product that sorts last; a reserve whose
/// first line is that product must already hold the one that sorts first while it
/// waits. Every reserve takes its products in id order, whatever its line order, so
/// two reserves of the same products cannot hold one each and deadlock.
#[tokio::test]
async fn a_reserve_locks_its_products_in_id_order_whatever_its_line_order() {
    let app = Arc::new(spawn_app().await);
    let (a, b) = (app.product("a", 10, 5).await, app.product("b", 10, 5).await);
    let (first, last) = if a.id < b.id { (a, b) } else { (b, a) };
    let order = app.order(vec![line(&last.id, 1), line(&first.id, 1)]).await;
    let saga = new_id();
    app.begin(&order.id, &saga).await.unwrap();
    let uuid = |id: &str| uuid::Uuid::parse_str(id).unwrap();

    let mut holder = app.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM products WHERE id = $1 FOR UPDATE")
        .bind(uuid(&last.id))
        .execute(&mut *holder)
        .await
        .unwrap();
    let reserve = {
        let app = Arc::clone(&app);
        let (order_id, saga) = (order.id.clone(), saga.clone());
        tokio::spawn(async move { app.reserve(&order_id, &saga).await })
    };
    // Until the reserve waits for `last`, `first` is free; then it is the reserve's.
    let mut first_taken = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let probe = sqlx::query("SELECT 1 FROM products WHERE id = $1 FOR UPDATE NOWAIT")
            .bind(uuid(&first.id))
            .execute(&app.pool)
            .await;
        if probe.is_err() {
            first_taken = true;
            break;
        }
    }
    holder.commit().await.unwrap();
    assert!(
        first_taken,
        "the reserve never held the product that sorts first"
    );
    assert!(reserve.await.unwrap().unwrap().into_inner().reserved);
    assert_eq!(
        (app.stock(&first.id).await, app.stock(&last.id).await),
        (4, 4)
    );
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn a_release_before_the_reserve_leaves_a_tombstone_that_refuses_it() {
    let app = spawn_app().await;
    let mug = app.product("mug", 10, 5).await;
    let order = app.order(vec![line(&mug.id, 2)]).await;
    let saga = new_id();
    app.begin(&order.id, &saga).await.unwrap();

    assert!(
        !app.release(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .released
    );
    assert_eq!(
        app.stock(&mug.id).await,
        5,
        "an empty release puts nothing back"
    );
    assert_error(
        app.reserve(&order.id, &saga).await,
        Code::Aborted,
        "INVALID_STATE",
    );
    assert!(
        !app.release(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .released
    );
    assert_eq!(app.stock(&mug.id).await, 5);
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn a_double_release_restores_the_stock_once() {
    let app = spawn_app().await;
    let mug = app.product("mug", 10, 5).await;
    let order = app.order(vec![line(&mug.id, 2)]).await;
    let saga = new_id();
    app.begin(&order.id, &saga).await.unwrap();
    app.reserve(&order.id, &saga).await.unwrap();
    assert_eq!(app.stock(&mug.id).await, 3);

    assert!(
        app.release(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .released
    );
    assert!(
        !app.release(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .released
    );
    assert_eq!(app.stock(&mug.id).await, 5);
    // The released saga cannot take the stock again.
    assert_error(
        app.reserve(&order.id, &saga).await,
        Code::Aborted,
        "INVALID_STATE",
    );
    assert_eq!(app.stock(&mug.id).await, 5);
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn reserve_needs_the_payment_lock_and_leaves_no_fence_when_refused() {
    let app = spawn_app().await;
    let mug = app.product("mug", 10, 5).await;
    let order = app.order(vec![line(&mug.id, 1)]).await;
    let saga = new_id();
    assert_error(
        app.reserve(&order.id, &saga).await,
        Code::FailedPrecondition,
        "ORDER_NOT_PAYABLE",
    );
    assert_eq!(app.stock(&mug.id).await, 5);
    app.begin(&order.id, &saga).await.unwrap();
    assert!(
        app.reserve(&order.id, &saga)
            .await
            .unwrap()
            .into_inner()
            .reserved
    );
    assert_eq!(app.stock(&mug.id).await, 4);
}

#[tokio::test]
async fn concurrent_repeats_of_one_reserve_take_the_stock_once() {
    let app = Arc::new(spawn_app().await);
    let mug = app.product("mug", 10, 5).await;
    let order = app.order(vec![line(&mug.id, 2)]).await;
    let saga = new_id();
    app.begin(&order.id, &saga).await.unwrap();
    let mut calls = JoinSet::new();
    for _ in 0..8 {
        let (app, order_id, saga): (Arc<TestApp>, String, String) =
            (Arc::clone(&app), order.id.clone(), saga.clone());
        calls.spawn(async move {
            app.reserve(&order_id, &saga)
                .await
                .map(|r| r.into_inner().reserved)
        });
    }
    while let Some(result) = calls.join_next().await {
        assert!(result.expect("task").expect("reserve"));
    }
    assert_eq!(app.stock(&mug.id).await, 3);
    app.assert_stock_conserved().await;
}

#[tokio::test]
async fn check_stock_looks_without_taking() {
    let app = spawn_app().await;
    let mug = app.product("mug", 10, 5).await;
    let plate = app.product("plate", 10, 1).await;
    let check = |lines: Vec<shop_proto::common::OrderLine>| {
        let mut client = app.client();
        async move {
            client
                .check_stock(shop_proto::order::CheckStockRequest { lines })
                .await
        }
    };

    check(vec![line(&mug.id, 5), line(&plate.id, 1)])
        .await
        .unwrap();
    // Lines of one product count together: 3 + 3 mugs is more than 5.
    let status = assert_error(
        check(vec![line(&mug.id, 3), line(&plate.id, 1), line(&mug.id, 3)]).await,
        Code::FailedPrecondition,
        "OUT_OF_STOCK",
    );
    assert!(status.message().contains("mug"), "{status:?}");
    assert!(status.message().contains("5 left, 6 wanted"), "{status:?}");
    assert_error(
        check(vec![line(&new_id(), 1)]).await,
        Code::NotFound,
        "PRODUCT_NOT_FOUND",
    );
    for bad in [
        vec![],
        vec![line("not-a-uuid", 1)],
        vec![line(&mug.id, 0)],
        vec![line(&mug.id, 1001)],
    ] {
        assert_error(check(bad).await, Code::InvalidArgument, "VALIDATION_FAILED");
    }
    assert_eq!(
        (app.stock(&mug.id).await, app.stock(&plate.id).await),
        (5, 1)
    );
    app.assert_stock_conserved().await;
}
