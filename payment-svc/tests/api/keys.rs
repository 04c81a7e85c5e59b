//! A retried IssueCoupon issues one coupon, and the retention of saga fences keeps
//! the fence every later refund of a charged payment goes by.

use std::time::Duration;

use chrono::Utc;
use shop_common::time;
use shop_proto::payment::{IssueCouponRequest, issue_coupon_request::Discount};
use tonic::Code;

use crate::helpers::{TestApp, assert_refused, id};

fn coupon(user: &str, percent: i32, key: &str) -> IssueCouponRequest {
    IssueCouponRequest {
        user_id: user.to_owned(),
        discount: Some(Discount::DiscountPercent(percent)),
        min_order_amount: 0,
        expires_at: Some(time::to_timestamp(Utc::now() + chrono::Duration::days(7))),
        request_key: key.to_owned(),
    }
}

#[tokio::test]
async fn an_issue_retried_with_its_key_issues_one_coupon() {
    let app = TestApp::spawn().await;
    let user = id();
    let request = coupon(&user, 10, "admin-1:coupon-42");
    let first = app
        .client
        .clone()
        .issue_coupon(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = app
        .client
        .clone()
        .issue_coupon(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.id, again.id,
        "the repeat answers with the first coupon"
    );
    assert_eq!(app.wallet(&user).await.coupons.len(), 1);

    let other = app
        .client
        .clone()
        .issue_coupon(coupon(&user, 50, "admin-1:coupon-42"))
        .await
        .unwrap_err();
    assert_refused(&other, Code::FailedPrecondition, "IDEMPOTENCY_KEY_REUSED");
    app.client
        .clone()
        .issue_coupon(coupon(&user, 10, ""))
        .await
        .expect("no key: a new coupon");
    assert_eq!(app.wallet(&user).await.coupons.len(), 2);
    app.assert_invariants().await;
}

#[tokio::test]
async fn retention_deletes_moot_fences_and_keeps_a_charged_payments() {
    let app = TestApp::spawn_with(|config| config.log_retention = Duration::from_millis(300)).await;
    let user = id();
    app.top_up(&user, 1_000).await;
    let (kept, refunded, tombstone) = ((id(), id()), (id(), id()), (id(), id()));
    for (order, saga) in [&kept, &refunded] {
        app.charge(order, saga, &user, 100, "").await.unwrap();
    }
    app.refund(&refunded.0, &refunded.1).await;
    app.refund(&tombstone.0, &tombstone.1).await;
    let fences = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM saga_fences")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(fences().await, 3);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fences().await > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        fences().await,
        1,
        "the tombstone and the refunded fence went"
    );
    // The charged payment's fence stays: its refund, however late, still works.
    let late = app.refund(&kept.0, &kept.1).await;
    assert!(late.refunded, "{late:?}");
    assert_eq!(app.wallet(&user).await.balance, 1_000);
    app.assert_invariants().await;
}
