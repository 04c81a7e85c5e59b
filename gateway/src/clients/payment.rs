//! payment-svc: wallets, coupons, and the charge and refund of the sagas.

use shop_proto::{
    common::{Coupon, ErrorReason as R, Payment, Wallet},
    payment::{
        ChargeRequest, GetPaymentRequest, GetWalletRequest, IssueCouponRequest, RefundRequest,
        RefundResponse, TopUpRequest, payment_service_client::PaymentServiceClient,
    },
};

use super::{
    Intercepted,
    call::{self, FORWARD_ATTEMPTS, PUBLIC_ATTEMPTS, STEP_ATTEMPTS, Spec},
    deadline::Deadline,
    outcome::Outcome,
};
use crate::ids::{CouponId, OrderId, SagaId, UserId};

const DEPENDENCY: &str = "payment-svc";

/// What Charge is asked to take.
#[derive(Debug, Clone, Copy)]
pub struct ChargeOf {
    pub order_id: OrderId,
    pub saga_id: SagaId,
    pub user_id: UserId,
    pub amount: i64,
    pub coupon_id: Option<CouponId>,
}

#[derive(Clone)]
pub struct PaymentClient {
    client: PaymentServiceClient<Intercepted>,
}

impl PaymentClient {
    pub(super) fn new(client: PaymentServiceClient<Intercepted>) -> Self {
        Self { client }
    }

    pub async fn get_wallet(&self, user_id: UserId, deadline: Deadline) -> Outcome<Wallet> {
        const SPEC: Spec = Spec::read("GetWallet", &[R::NotFound]);
        let request = GetWalletRequest {
            user_id: user_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.get_wallet(r).await },
        )
        .await
    }

    pub async fn get_payment(&self, order_id: OrderId, deadline: Deadline) -> Outcome<Payment> {
        const SPEC: Spec = Spec {
            attempts: call::ONCE,
            ..Spec::read("GetPayment", &[R::NotFound])
        };
        let request = GetPaymentRequest {
            order_id: order_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.get_payment(r).await },
        )
        .await
    }

    /// Retried only when the idempotency key makes it count once.
    pub async fn top_up(&self, request: TopUpRequest, deadline: Deadline) -> Outcome<Wallet> {
        const KEYED: Spec = Spec::write("TopUp", PUBLIC_ATTEMPTS, &[R::IdempotencyKeyReused]);
        const ONCE: Spec = Spec::write("TopUp", call::ONCE, &[R::IdempotencyKeyReused]);
        let spec = if request.idempotency_key.is_empty() {
            &ONCE
        } else {
            &KEYED
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            spec,
            request,
            |mut c, r| async move { c.top_up(r).await },
        )
        .await
    }

    /// Retried only when `request_key` makes it issue one coupon.
    pub async fn issue_coupon(
        &self,
        request: IssueCouponRequest,
        deadline: Deadline,
    ) -> Outcome<Coupon> {
        const KEYED: Spec = Spec::write("IssueCoupon", PUBLIC_ATTEMPTS, &[R::IdempotencyKeyReused]);
        const ONCE: Spec = Spec::write("IssueCoupon", call::ONCE, &[R::IdempotencyKeyReused]);
        let spec = if request.request_key.is_empty() {
            &ONCE
        } else {
            &KEYED
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            spec,
            request,
            |mut c, r| async move { c.issue_coupon(r).await },
        )
        .await
    }

    pub async fn charge(&self, charge: ChargeOf, deadline: Deadline) -> Outcome<Payment> {
        const SPEC: Spec = Spec::write(
            "Charge",
            STEP_ATTEMPTS,
            &[
                R::InsufficientPoints,
                R::CouponInvalid,
                R::InvalidState,
                R::PaymentInProgress,
            ],
        );
        let request = ChargeRequest {
            order_id: charge.order_id.to_string(),
            saga_id: charge.saga_id.to_string(),
            user_id: charge.user_id.to_string(),
            amount: charge.amount,
            coupon_id: charge.coupon_id.map(|c| c.to_string()).unwrap_or_default(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.charge(r).await },
        )
        .await
    }

    /// Refunds the saga's charge, or leaves a tombstone that refuses a late one.
    pub async fn refund(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        reason: &str,
        deadline: Deadline,
    ) -> Outcome<RefundResponse> {
        const SPEC: Spec = Spec::write("Refund", FORWARD_ATTEMPTS, &[]);
        let request = RefundRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
            reason: reason.to_owned(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.refund(r).await },
        )
        .await
    }
}
