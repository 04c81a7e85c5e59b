//! Coupons: issuing, discount arithmetic, the rules that refuse one, and races.

use shop_proto::payment::{ListCouponsRequest, issue_coupon_request::Discount};
use tonic::Code;

use crate::helpers::{TestApp, assert_refused, id};

#[tokio::test]
async fn issued_coupons_are_listed_and_in_the_wallet() {
    let app = TestApp::spawn().await;
    let user = id();
    let fixed = app.coupon(&user, Discount::DiscountAmount(300), 1000).await;
    let percent = app.coupon(&user, Discount::DiscountPercent(15), 0).await;
    assert_eq!((fixed.discount_amount, fixed.discount_percent), (300, 0));
    assert_eq!((percent.discount_amount, percent.discount_percent), (0, 15));
    assert_eq!(fixed.min_order_amount, 1000);
    assert_eq!(fixed.user_id, user);
    assert!(fixed.used_order_id.is_empty());

    let listed = app
        .client
        .clone()
        .list_coupons(ListCouponsRequest {
            user_id: user.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .coupons;
    let ids: Vec<&str> = listed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec![fixed.id.as_str(), percent.id.as_str()]);
    assert_eq!(app.wallet(&user).await.coupons, listed);
    assert!(app.wallet(&id()).await.coupons.is_empty());
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_fixed_coupon_takes_its_points_off() {
    let app = TestApp::spawn().await;
    let user = id();
    app.top_up(&user, 1000).await;
    let coupon = app.coupon(&user, Discount::DiscountAmount(300), 500).await;
    let order = id();
    let payment = app
        .charge(&order, &id(), &user, 1000, &coupon.id)
        .await
        .unwrap();
    assert_eq!(
        (payment.amount, payment.discount_amount, payment.paid_amount),
        (1000, 300, 700)
    );
    assert_eq!(payment.coupon_id, coupon.id);
    assert_eq!(app.balance(&user).await, 300);
    let used = &app.wallet(&user).await.coupons[0];
    assert_eq!(used.used_order_id, order);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_percent_coupon_rounds_the_discount_down() {
    let app = TestApp::spawn().await;
    let user = id();
    app.top_up(&user, 1000).await;
    let coupon = app.coupon(&user, Discount::DiscountPercent(10), 0).await;
    let payment = app
        .charge(&id(), &id(), &user, 999, &coupon.id)
        .await
        .unwrap();
    assert_eq!(
        (payment.amount, payment.discount_amount, payment.paid_amount),
        (999, 99, 900)
    );
    assert_eq!(app.balance(&user).await, 100);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_coupon_covering_everything_needs_no_wallet() {
    let app = TestApp::spawn().await;
    let user = id();
    let fixed = app.coupon(&user, Discount::DiscountAmount(5000), 0).await;
    let payment = app
        .charge(&id(), &id(), &user, 1200, &fixed.id)
        .await
        .unwrap();
    assert_eq!((payment.discount_amount, payment.paid_amount), (1200, 0));

    let full = app.coupon(&user, Discount::DiscountPercent(100), 0).await;
    let payment = app
        .charge(&id(), &id(), &user, 777, &full.id)
        .await
        .unwrap();
    assert_eq!((payment.discount_amount, payment.paid_amount), (777, 0));
    assert_eq!(app.balance(&user).await, 0);
    app.assert_invariants().await;
}

#[tokio::test]
async fn refused_coupons_say_which_rule_failed_and_take_nothing() {
    let app = TestApp::spawn().await;
    let (user, stranger) = (id(), id());
    app.top_up(&user, 5000).await;

    let minimum = app.coupon(&user, Discount::DiscountAmount(100), 1000).await;
    let err = app
        .charge(&id(), &id(), &user, 999, &minimum.id)
        .await
        .unwrap_err();
    assert_refused(&err, Code::FailedPrecondition, "COUPON_INVALID");
    assert!(err.message().contains("minimum"), "{}", err.message());

    let theirs = app
        .coupon(&stranger, Discount::DiscountAmount(100), 0)
        .await;
    let err = app
        .charge(&id(), &id(), &user, 999, &theirs.id)
        .await
        .unwrap_err();
    assert_refused(&err, Code::FailedPrecondition, "COUPON_INVALID");
    assert!(err.message().contains("another user"), "{}", err.message());

    let err = app
        .charge(&id(), &id(), &user, 999, &id())
        .await
        .unwrap_err();
    assert_refused(&err, Code::FailedPrecondition, "COUPON_INVALID");
    assert!(
        err.message().contains("does not exist"),
        "{}",
        err.message()
    );

    // Coupons cannot be issued already expired, so let this one's time run out.
    let expiring = app.coupon(&user, Discount::DiscountPercent(50), 0).await;
    sqlx::query("UPDATE coupons SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid")
        .bind(&expiring.id)
        .execute(&app.db)
        .await
        .unwrap();
    let err = app
        .charge(&id(), &id(), &user, 999, &expiring.id)
        .await
        .unwrap_err();
    assert_refused(&err, Code::FailedPrecondition, "COUPON_INVALID");
    assert!(err.message().contains("expired"), "{}", err.message());

    assert_eq!(app.balance(&user).await, 5000, "no points taken");
    let coupons = app.wallet(&user).await.coupons;
    assert!(
        coupons.iter().all(|c| c.used_order_id.is_empty()),
        "no coupon used"
    );
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_used_coupon_is_refused_until_its_order_is_refunded() {
    let app = TestApp::spawn().await;
    let user = id();
    app.top_up(&user, 5000).await;
    let coupon = app.coupon(&user, Discount::DiscountAmount(100), 0).await;
    let (first_order, first_saga) = (id(), id());
    app.charge(&first_order, &first_saga, &user, 1000, &coupon.id)
        .await
        .unwrap();

    let second_order = id();
    let err = app
        .charge(&second_order, &id(), &user, 1000, &coupon.id)
        .await
        .unwrap_err();
    assert_refused(&err, Code::FailedPrecondition, "COUPON_INVALID");
    assert!(err.message().contains("already used"), "{}", err.message());
    assert_eq!(app.balance(&user).await, 4100);

    assert!(app.refund(&first_order, &first_saga).await.refunded);
    assert!(app.wallet(&user).await.coupons[0].used_order_id.is_empty());
    let payment = app
        .charge(&second_order, &id(), &user, 1000, &coupon.id)
        .await
        .unwrap();
    assert_eq!(payment.paid_amount, 900);
    assert_eq!(app.balance(&user).await, 4100);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_coupon_raced_by_two_orders_is_used_once() {
    let app = TestApp::spawn().await;
    let user = id();
    app.top_up(&user, 1000).await;
    let coupon = app.coupon(&user, Discount::DiscountAmount(200), 0).await;

    let (order_a, order_b, saga) = (id(), id(), id());
    let (a, b) = tokio::join!(
        app.charge(&order_a, &saga, &user, 500, &coupon.id),
        app.charge(&order_b, &saga, &user, 500, &coupon.id),
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("expected exactly one winner, got {other:?}"),
    };
    assert_refused(&lost, Code::FailedPrecondition, "COUPON_INVALID");
    assert_eq!(won.paid_amount, 300);
    assert_eq!(app.balance(&user).await, 700, "the loser took no points");
    assert_eq!(
        app.wallet(&user).await.coupons[0].used_order_id,
        won.order_id
    );
    app.assert_invariants().await;
}
