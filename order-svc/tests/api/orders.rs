//! CreateOrder, GetOrder and ListOrders.

use chrono::{Duration, Utc};
use shop_common::time::to_timestamp;
use shop_proto::{common::OrderStatus, order as pb};
use tonic::Code;

use crate::helpers::{
    assert_error, line, new_id, order_request, spawn_app, status_of, violated_fields,
};

#[tokio::test]
async fn order_snapshots_prices_and_computes_the_total() {
    let app = spawn_app().await;
    let mug = app.product("mug", 1200, 10).await;
    let tea = app.product("tea", 350, 10).await;
    let order = app
        .order(vec![line(&mug.id, 2), line(&tea.id, 1), line(&mug.id, 1)])
        .await;
    assert_eq!(status_of(&order), OrderStatus::PendingPayment);
    assert_eq!(order.total_amount, 3 * 1200 + 350);
    assert_eq!(order.lines.len(), 3);
    assert_eq!(
        (order.lines[1].name.as_str(), order.lines[1].unit_price),
        ("tea", 350)
    );
    assert_eq!(order.lines[2].quantity, 1);
    assert_eq!(
        app.stock(&mug.id).await,
        10,
        "placing an order takes no stock"
    );
    assert_eq!(app.get_order(&order.id).await, order);
    assert_eq!(app.events_of(&order.id, "ORDER_PLACED").await, 1);
}

#[tokio::test]
async fn create_order_is_idempotent_by_order_id() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let request = order_request(&new_id(), vec![line(&mug.id, 1)]);
    let first = app
        .client()
        .create_order(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = app
        .client()
        .create_order(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(app.events_of(&first.id, "ORDER_PLACED").await, 1);

    let mut stolen = request;
    stolen.user_id = new_id();
    assert_error(
        app.client().create_order(stolen).await,
        Code::Aborted,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_eq!(app.get_order(&first.id).await, first);
}

#[tokio::test]
async fn invalid_orders_are_refused_with_field_violations_and_change_nothing() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let user = new_id();
    let ok = || order_request(&user, vec![line(&mug.id, 1)]);
    let with_lines = |lines| pb::CreateOrderRequest { lines, ..ok() };

    let mut bad_uuid_on_line_3 = vec![line(&mug.id, 1); 3];
    bad_uuid_on_line_3.push(line("nope", 1));
    let cases: Vec<(pb::CreateOrderRequest, &str)> = vec![
        (with_lines(bad_uuid_on_line_3), "lines[3].product_id"),
        (with_lines(vec![line(&mug.id, 0)]), "lines[0].quantity"),
        (with_lines(vec![line(&mug.id, -1)]), "lines[0].quantity"),
        (with_lines(vec![line(&mug.id, 1001)]), "lines[0].quantity"),
        (with_lines(vec![]), "lines"),
        (with_lines(vec![line(&mug.id, 1); 101]), "lines"),
        (
            pb::CreateOrderRequest {
                order_id: "x".into(),
                ..ok()
            },
            "order_id",
        ),
        (
            pb::CreateOrderRequest {
                user_id: String::new(),
                ..ok()
            },
            "user_id",
        ),
        (
            pb::CreateOrderRequest {
                expires_at: Some(to_timestamp(Utc::now() - Duration::seconds(1))),
                ..ok()
            },
            "expires_at",
        ),
        (
            pb::CreateOrderRequest {
                expires_at: None,
                ..ok()
            },
            "expires_at",
        ),
    ];
    for (request, field) in cases {
        let status = assert_error(
            app.client().create_order(request).await,
            Code::InvalidArgument,
            "VALIDATION_FAILED",
        );
        assert_eq!(
            violated_fields(&status),
            vec![field.to_owned()],
            "{status:?}"
        );
    }

    let unknown = new_id();
    let status = assert_error(
        app.client()
            .create_order(with_lines(vec![line(&mug.id, 1), line(&unknown, 1)]))
            .await,
        Code::NotFound,
        "PRODUCT_NOT_FOUND",
    );
    assert!(status.message().contains(&unknown), "{status:?}");

    let listed = app
        .client()
        .list_orders(pb::ListOrdersRequest {
            user_id: user,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.orders.is_empty());
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM order_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(events, 0);
}

#[tokio::test]
async fn a_total_past_i64_is_refused() {
    let app = spawn_app().await;
    let gold = app.product("gold", i64::MAX / 1000, 10).await;
    assert_error(
        app.client()
            .create_order(order_request(
                &new_id(),
                vec![line(&gold.id, 1000), line(&gold.id, 2)],
            ))
            .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
}

#[tokio::test]
async fn unknown_order_is_not_found() {
    let app = spawn_app().await;
    assert_error(
        app.client()
            .get_order(pb::GetOrderRequest { order_id: new_id() })
            .await,
        Code::NotFound,
        "ORDER_NOT_FOUND",
    );
}

#[tokio::test]
async fn a_users_orders_are_listed_newest_first_in_pages() {
    let app = spawn_app().await;
    let mug = app.product("mug", 100, 10).await;
    let user = new_id();
    let mut created = Vec::new();
    for _ in 0..5 {
        let request = order_request(&user, vec![line(&mug.id, 1)]);
        created.push(
            app.client()
                .create_order(request)
                .await
                .unwrap()
                .into_inner()
                .id,
        );
    }
    app.order(vec![line(&mug.id, 1)]).await; // another user's

    let mut seen = Vec::new();
    let mut token = String::new();
    for _ in 0..5 {
        let page = app
            .client()
            .list_orders(pb::ListOrdersRequest {
                user_id: user.clone(),
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.orders.iter().all(|o| o.user_id == user));
        seen.extend(page.orders.into_iter().map(|o| o.id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    created.reverse();
    assert_eq!(seen, created);

    assert_error(
        app.client()
            .list_orders(pb::ListOrdersRequest {
                user_id: user,
                page_size: 2,
                page_token: "o1.garbage".into(),
            })
            .await,
        Code::InvalidArgument,
        "VALIDATION_FAILED",
    );
}
