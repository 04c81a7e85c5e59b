//! Bad input is INVALID_ARGUMENT / VALIDATION_FAILED naming every bad field, and
//! changes nothing.

use chrono::{Duration, Utc};
use shop_common::time;
use shop_proto::payment::{
    ChargeRequest, GetPaymentRequest, GetWalletRequest, IssueCouponRequest, ListLedgerRequest,
    RefundRequest, TopUpRequest, issue_coupon_request::Discount,
};
use tonic::{Code, Status};

use crate::helpers::{TestApp, assert_refused, id, violated_fields};

#[track_caller]
fn assert_invalid(status: &Status, fields: &[&str]) {
    assert_refused(status, Code::InvalidArgument, "VALIDATION_FAILED");
    assert_eq!(violated_fields(status), fields, "{status:?}");
}

#[tokio::test]
async fn bad_top_ups_are_refused_and_add_nothing() {
    let app = TestApp::spawn().await;
    let user = id();
    let mut client = app.client.clone();
    for amount in [0, -1, -100, 1_000_000_001, i64::MAX, i64::MIN] {
        let request = TopUpRequest {
            user_id: user.clone(),
            amount,
            idempotency_key: String::new(),
        };
        let err = client.top_up(request).await.unwrap_err();
        assert_invalid(&err, &["amount"]);
    }
    let err = client
        .top_up(TopUpRequest {
            user_id: "not-a-uuid".into(),
            amount: 0,
            idempotency_key: "x".repeat(300),
        })
        .await
        .unwrap_err();
    assert_invalid(&err, &["user_id", "amount", "idempotency_key"]);
    assert_eq!(app.balance(&user).await, 0);
    let entries = client
        .list_ledger(ListLedgerRequest {
            user_id: user,
            page_size: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(entries.is_empty());
    app.assert_invariants().await;
}

#[tokio::test]
async fn bad_charges_are_refused_and_take_nothing() {
    let app = TestApp::spawn().await;
    let (user, order) = (id(), id());
    app.top_up(&user, 1000).await;
    let mut client = app.client.clone();
    let good = ChargeRequest {
        order_id: order.clone(),
        saga_id: id(),
        user_id: user.clone(),
        amount: 100,
        coupon_id: String::new(),
    };
    for amount in [-1, i64::MAX, i64::MIN, 1_000_000_000_001] {
        let err = client
            .charge(ChargeRequest {
                amount,
                ..good.clone()
            })
            .await
            .unwrap_err();
        assert_invalid(&err, &["amount"]);
    }
    let err = client
        .charge(ChargeRequest {
            order_id: String::new(),
            saga_id: "123".into(),
            user_id: user.to_uppercase().replace('-', ""),
            amount: 100,
            coupon_id: "coupon".into(),
        })
        .await
        .unwrap_err();
    assert_invalid(&err, &["order_id", "saga_id", "user_id", "coupon_id"]);

    assert_eq!(app.balance(&user).await, 1000);
    let err = client
        .get_payment(GetPaymentRequest { order_id: order })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    app.assert_invariants().await;
}

#[tokio::test]
async fn bad_coupons_are_refused_and_not_issued() {
    let app = TestApp::spawn().await;
    let user = id();
    let mut client = app.client.clone();
    let good = IssueCouponRequest {
        user_id: user.clone(),
        discount: Some(Discount::DiscountPercent(10)),
        min_order_amount: 0,
        expires_at: Some(time::to_timestamp(Utc::now() + Duration::days(1))),
        ..Default::default()
    };
    let cases = [
        (
            IssueCouponRequest {
                discount: None,
                ..good.clone()
            },
            "discount",
        ),
        (
            IssueCouponRequest {
                discount: Some(Discount::DiscountPercent(0)),
                ..good.clone()
            },
            "discount_percent",
        ),
        (
            IssueCouponRequest {
                discount: Some(Discount::DiscountPercent(101)),
                ..good.clone()
            },
            "discount_percent",
        ),
        (
            IssueCouponRequest {
                discount: Some(Discount::DiscountAmount(0)),
                ..good.clone()
            },
            "discount_amount",
        ),
        (
            IssueCouponRequest {
                discount: Some(Discount::DiscountAmount(-5)),
                ..good.clone()
            },
            "discount_amount",
        ),
        (
            IssueCouponRequest {
                discount: Some(Discount::DiscountAmount(i64::MAX)),
                ..good.clone()
            },
            "discount_amount",
        ),
        (
            IssueCouponRequest {
                min_order_amount: -1,
                ..good.clone()
            },
            "min_order_amount",
        ),
        (
            IssueCouponRequest {
                expires_at: Some(time::to_timestamp(Utc::now() - Duration::seconds(1))),
                ..good.clone()
            },
            "expires_at",
        ),
        (
            IssueCouponRequest {
                expires_at: None,
                ..good.clone()
            },
            "expires_at",
        ),
        (
            IssueCouponRequest {
                user_id: "nobody".into(),
                ..good.clone()
            },
            "user_id",
        ),
    ];
    for (request, field) in cases {
        let err = client.issue_coupon(request).await.unwrap_err();
        assert_invalid(&err, &[field]);
    }
    assert!(app.wallet(&user).await.coupons.is_empty());
    app.assert_invariants().await;
}

/// A proto `oneof` cannot carry both kinds, so the schema's CHECK is what stops a
/// coupon with both (or neither) from ever being stored.
#[tokio::test]
async fn the_schema_refuses_coupons_with_both_or_neither_discount_kind() {
    let app = TestApp::spawn().await;
    for (amount, percent) in [(Some(100_i64), Some(10_i32)), (None, None)] {
        let err = sqlx::query(
            "INSERT INTO coupons (id, user_id, discount_amount, discount_percent,
                                  min_order_amount, expires_at)
             VALUES (gen_random_uuid(), gen_random_uuid(), $1, $2, 0, now() + interval '1 day')",
        )
        .bind(amount)
        .bind(percent)
        .execute(&app.db)
        .await
        .unwrap_err();
        assert_eq!(
            shop_common::db::check_violation(&err),
            Some("coupons_exactly_one_discount_kind")
        );
    }
    app.assert_invariants().await;
}

#[tokio::test]
async fn bad_ids_and_page_sizes_are_refused() {
    let app = TestApp::spawn().await;
    let mut client = app.client.clone();
    let err = client
        .refund(RefundRequest {
            order_id: "x".into(),
            saga_id: String::new(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_invalid(&err, &["order_id", "saga_id"]);
    let err = client
        .get_payment(GetPaymentRequest {
            order_id: "x".into(),
        })
        .await
        .unwrap_err();
    assert_invalid(&err, &["order_id"]);
    let err = client
        .get_wallet(GetWalletRequest {
            user_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_invalid(&err, &["user_id"]);
    for page_size in [-1, 1001] {
        let err = client
            .list_ledger(ListLedgerRequest {
                user_id: id(),
                page_size,
            })
            .await
            .unwrap_err();
        assert_invalid(&err, &["page_size"]);
    }
    let tombstones: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM saga_fences")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(tombstones, 0, "a refused refund records no fence");
    app.assert_invariants().await;
}
