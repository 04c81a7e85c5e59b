//! A served payment-svc per test, typed shortcuts for its calls, and the audit of the
//! invariants that every test ends with.

use chrono::{Duration, Utc};
use payment_svc::{App, Config};
use shop_common::{app::Service, status, time};
use shop_proto::{
    common::{Coupon, Payment, Wallet},
    payment::{
        ChargeRequest, GetWalletRequest, IssueCouponRequest, RefundRequest, RefundResponse,
        TopUpRequest, issue_coupon_request::Discount, payment_service_client::PaymentServiceClient,
    },
};
use shop_testkit::{PgServer, Running};
use sqlx::PgPool;
use tonic::{Code, Status, transport::Channel};
use uuid::Uuid;

pub struct TestApp {
    pub client: PaymentServiceClient<Channel>,
    /// The service's own database, for audits and for what no RPC can do (time travel).
    pub db: PgPool,
    pub running: Running,
}

pub fn id() -> String {
    Uuid::new_v4().to_string()
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let url = PgServer::shared().fresh_database().await;
        let mut config = Config::for_tests(url);
        adjust(&mut config);
        let app = App::build(config).await.expect("payment-svc builds");
        let db = app.pool().clone();
        let running = Running::spawn(app.local_addr(), |stop| app.run_until_stopped(stop));
        let client = PaymentServiceClient::connect(running.url())
            .await
            .expect("client connects");
        Self {
            client,
            db,
            running,
        }
    }

    pub async fn top_up(&self, user: &str, amount: i64) -> Wallet {
        self.client
            .clone()
            .top_up(TopUpRequest {
                user_id: user.to_owned(),
                amount,
                idempotency_key: String::new(),
            })
            .await
            .expect("top-up succeeds")
            .into_inner()
    }

    pub async fn wallet(&self, user: &str) -> Wallet {
        self.client
            .clone()
            .get_wallet(GetWalletRequest {
                user_id: user.to_owned(),
            })
            .await
            .expect("wallet is readable")
            .into_inner()
    }

    pub async fn balance(&self, user: &str) -> i64 {
        self.wallet(user).await.balance
    }

    pub async fn coupon(&self, user: &str, discount: Discount, min_order_amount: i64) -> Coupon {
        self.client
            .clone()
            .issue_coupon(IssueCouponRequest {
                user_id: user.to_owned(),
                discount: Some(discount),
                min_order_amount,
                expires_at: Some(time::to_timestamp(Utc::now() + Duration::days(7))),
                ..Default::default()
            })
            .await
            .expect("coupon is issued")
            .into_inner()
    }

    pub async fn charge(
        &self,
        order: &str,
        saga: &str,
        user: &str,
        amount: i64,
        coupon: &str,
    ) -> Result<Payment, Status> {
        self.client
            .clone()
            .charge(ChargeRequest {
                order_id: order.to_owned(),
                saga_id: saga.to_owned(),
                user_id: user.to_owned(),
                amount,
                coupon_id: coupon.to_owned(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn refund(&self, order: &str, saga: &str) -> RefundResponse {
        self.client
            .clone()
            .refund(RefundRequest {
                order_id: order.to_owned(),
                saga_id: saga.to_owned(),
                reason: "test compensation".to_owned(),
            })
            .await
            .expect("refund succeeds")
            .into_inner()
    }

    /// The invariants every test ends with, read from the service's database:
    /// points are conserved (top-ups = balances + paid amounts of CHARGED payments),
    /// no balance is negative, every balance is its ledger's sum, and a coupon is used
    /// exactly when a CHARGED payment of that order holds it.
    pub async fn assert_invariants(&self) {
        let (top_ups, balances, charged): (i64, i64, i64) = sqlx::query_as(
            "SELECT
               (SELECT COALESCE(SUM(amount), 0)::bigint FROM ledger WHERE kind = 'TOP_UP'),
               (SELECT COALESCE(SUM(balance), 0)::bigint FROM wallets),
               (SELECT COALESCE(SUM(paid_amount), 0)::bigint FROM payments
                 WHERE status = 'CHARGED')",
        )
        .fetch_one(&self.db)
        .await
        .expect("audit query runs");
        assert_eq!(
            top_ups,
            balances + charged,
            "points not conserved: top-ups {top_ups}, balances {balances}, charged {charged}"
        );

        let negative: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wallets WHERE balance < 0")
            .fetch_one(&self.db)
            .await
            .expect("audit query runs");
        assert_eq!(negative, 0, "a balance is negative");

        let off_ledger: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM wallets w
             WHERE w.balance <> (SELECT COALESCE(SUM(l.amount), 0) FROM ledger l
                                 WHERE l.user_id = w.user_id)",
        )
        .fetch_one(&self.db)
        .await
        .expect("audit query runs");
        assert_eq!(off_ledger, 0, "a balance differs from its ledger");

        let coupon_mismatch: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM coupons c
             WHERE (c.used_order_id IS NOT NULL) <> EXISTS (
                 SELECT 1 FROM payments p
                 WHERE p.coupon_id = c.id AND p.order_id = c.used_order_id
                   AND p.status = 'CHARGED')",
        )
        .fetch_one(&self.db)
        .await
        .expect("audit query runs");
        assert_eq!(
            coupon_mismatch, 0,
            "a coupon's use disagrees with the payments"
        );
    }
}

/// Asserts the code and the `ErrorInfo` reason of a refused call.
#[track_caller]
pub fn assert_refused(status: &Status, code: Code, reason: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(
        status::reason(status).as_deref(),
        Some(reason),
        "{status:?}"
    );
}

/// The field paths of a VALIDATION_FAILED status.
pub fn violated_fields(status: &Status) -> Vec<String> {
    status::violations(status)
        .into_iter()
        .map(|(field, _)| field)
        .collect()
}
