//! Admin writes: each leaves an audit entry (who, what, when, request id), as do an
//! admin's actions on a user's order; a top-up key belongs to the admin who sent it;
//! a retried IssueCoupon issues one coupon.

use shop_e2e::Stack;
use shop_proto::gateway::{
    AdjustStockRequest, IssueCouponRequest, ListAuditEventsRequest, TopUpPointsRequest,
    issue_coupon_request::Discount,
};
use tonic::Code;

use crate::support::{assert_error, status_of};

fn keyed<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("idempotency-key", key.parse().unwrap());
    request
}

#[tokio::test]
async fn admin_writes_and_actions_on_users_orders_are_audited() {
    let stack = Stack::start().await.unwrap();
    let (admin, buyer) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Audited", 10, 5).await.id;
    let request_id = uuid::Uuid::now_v7();
    let mut adjust = tonic::Request::new(AdjustStockRequest {
        product_id: product.clone(),
        delta: 3,
    });
    adjust
        .metadata_mut()
        .insert("x-request-id", request_id.to_string().parse().unwrap());
    admin.admin.clone().adjust_stock(adjust).await.unwrap();
    // A refused write is audited too, with its outcome.
    let refused = admin
        .admin
        .clone()
        .adjust_stock(AdjustStockRequest {
            product_id: product.clone(),
            delta: -100,
        })
        .await;
    assert_error(refused, Code::FailedPrecondition, "OUT_OF_STOCK");
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    let cancelled = admin.cancel(&order.id, "fraud check").await.unwrap();
    assert_eq!(
        status_of(&cancelled),
        shop_proto::common::OrderStatus::Cancelled
    );
    // A shopper's own cancellation is not an admin action.
    let own = buyer.place(&[(&product, 1)]).await.unwrap();
    buyer.cancel(&own.id, "").await.unwrap();

    let events = admin
        .admin
        .clone()
        .list_audit_events(ListAuditEventsRequest {
            admin_id: admin.id.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let seen: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| (e.action.as_str(), e.target.as_str(), e.outcome.as_str()))
        .collect();
    let (order_target, product_target) =
        (format!("order:{}", order.id), format!("product:{product}"));
    assert_eq!(
        seen,
        vec![
            ("CancelOrder", order_target.as_str(), "OK"),
            (
                "AdjustStock",
                product_target.as_str(),
                "FailedPrecondition: OUT_OF_STOCK"
            ),
            ("AdjustStock", product_target.as_str(), "OK"),
            ("CreateProduct", "catalog", "OK"),
        ],
        "newest first"
    );
    let adjusted = &events[2];
    assert_eq!(adjusted.request_id, request_id.to_string());
    assert_eq!(adjusted.detail, "delta=3");
    assert!(adjusted.at.is_some() && adjusted.ended_at.is_some());
    assert!(events.iter().all(|e| e.admin_id == admin.id.to_string()));

    // Over REST too, paged.
    let (status, body) = stack.rest(&admin).get("/v1/admin/audit?pageSize=2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"].as_array().unwrap().len(), 2);
    let next = body["nextPageToken"].as_str().unwrap().to_owned();
    let (_, rest) = stack
        .rest(&admin)
        .get(&format!("/v1/admin/audit?pageSize=2&pageToken={next}"))
        .await;
    assert_eq!(rest["events"][0]["action"], "AdjustStock");
    assert_eq!(stack.rest(&buyer).get("/v1/admin/audit").await.0, 403);
    stack.audit().await;
}

#[tokio::test]
async fn one_key_used_by_two_admins_tops_up_twice_and_a_retry_once() {
    let stack = Stack::start().await.unwrap();
    let (first, second, user) = (stack.admin().await, stack.admin().await, stack.user().await);
    let top_up = || TopUpPointsRequest {
        user_id: user.id.to_string(),
        amount: 100,
    };
    for admin in [&first, &second, &first] {
        admin
            .admin
            .clone()
            .top_up_points(keyed(top_up(), "monthly-bonus"))
            .await
            .unwrap();
    }
    assert_eq!(
        user.wallet().await.balance,
        200,
        "each admin's top-up counts once: their keys are their own"
    );
}

#[tokio::test]
async fn a_retried_coupon_issue_with_its_key_issues_one_coupon() {
    let stack = Stack::start().await.unwrap();
    let (admin, user) = (stack.admin().await, stack.user().await);
    let expires = shop_common::time::to_timestamp(chrono::Utc::now() + chrono::Duration::days(3));
    let coupon = |percent| IssueCouponRequest {
        user_id: user.id.to_string(),
        discount: Some(Discount::DiscountPercent(percent)),
        min_order_amount: 0,
        expires_at: Some(expires),
    };
    let a = admin
        .admin
        .clone()
        .issue_coupon(keyed(coupon(10), "spring"))
        .await
        .unwrap()
        .into_inner();
    let b = admin
        .admin
        .clone()
        .issue_coupon(keyed(coupon(10), "spring"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.id, b.id);
    assert_error(
        admin
            .admin
            .clone()
            .issue_coupon(keyed(coupon(20), "spring"))
            .await,
        Code::FailedPrecondition,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_eq!(user.wallet().await.coupons.len(), 1);
}
