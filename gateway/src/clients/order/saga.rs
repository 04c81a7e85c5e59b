//! order-svc calls of the sagas: the payment lock, stock, and the order's end states.

use shop_proto::{
    common::ErrorReason as R,
    order::{
        self, AbortPaymentRequest, BeginPaymentRequest, CancelOrderRequest, ExpireOrderRequest,
        MarkFailedRequest, MarkPaidRequest, MarkReceivedRequest, ReleaseStockRequest,
        ReserveStockRequest,
    },
};

use super::{DEPENDENCY, OrderClient, PaidWith};
use crate::clients::{
    call::{self, FORWARD_ATTEMPTS, PUBLIC_ATTEMPTS, STEP_ATTEMPTS, Spec},
    deadline::Deadline,
    outcome::Outcome,
};
use crate::ids::{OrderId, SagaId};

impl OrderClient {
    pub async fn begin_payment(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write(
            "BeginPayment",
            STEP_ATTEMPTS,
            &[
                R::OrderNotFound,
                R::OrderExpired,
                R::OrderNotPayable,
                R::PaymentInProgress,
                R::InvalidState,
            ],
        );
        let request = BeginPaymentRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.begin_payment(r).await },
        )
        .await
    }

    pub async fn abort_payment(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        reason: &str,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write("AbortPayment", STEP_ATTEMPTS, &[R::InvalidState]);
        let request = AbortPaymentRequest {
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
            |mut c, r| async move { c.abort_payment(r).await },
        )
        .await
    }

    pub async fn reserve_stock(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        deadline: Deadline,
    ) -> Outcome<()> {
        const SPEC: Spec = Spec::write(
            "ReserveStock",
            STEP_ATTEMPTS,
            &[
                R::OutOfStock,
                R::OrderNotPayable,
                R::InvalidState,
                R::ProductNotFound,
            ],
        );
        let request = ReserveStockRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.reserve_stock(r).await },
        )
        .await
        .map(|_| ())
    }

    pub async fn release_stock(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        deadline: Deadline,
    ) -> Outcome<()> {
        const SPEC: Spec = Spec::write("ReleaseStock", FORWARD_ATTEMPTS, &[]);
        let request = ReleaseStockRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.release_stock(r).await },
        )
        .await
        .map(|_| ())
    }

    pub async fn mark_paid(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        paid: PaidWith,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write("MarkPaid", FORWARD_ATTEMPTS, &[R::OrderNotPayable]);
        let request = MarkPaidRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
            payment_id: paid.payment_id.to_string(),
            discount_amount: paid.discount_amount,
            paid_amount: paid.paid_amount,
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.mark_paid(r).await },
        )
        .await
    }

    pub async fn mark_failed(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        reason: &str,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write("MarkFailed", FORWARD_ATTEMPTS, &[R::InvalidState]);
        let request = MarkFailedRequest {
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
            |mut c, r| async move { c.mark_failed(r).await },
        )
        .await
    }

    pub async fn expire_order(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write(
            "ExpireOrder",
            STEP_ATTEMPTS,
            &[R::PaymentInProgress, R::InvalidState],
        );
        let request = ExpireOrderRequest {
            order_id: order_id.to_string(),
            saga_id: saga_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.expire_order(r).await },
        )
        .await
    }

    pub async fn cancel_order(
        &self,
        order_id: OrderId,
        reason: &str,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write(
            "CancelOrder",
            FORWARD_ATTEMPTS,
            &[
                R::OrderNotCancellable,
                R::PaymentInProgress,
                R::InvalidState,
                R::OrderNotFound,
            ],
        );
        let request = CancelOrderRequest {
            order_id: order_id.to_string(),
            reason: reason.to_owned(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.cancel_order(r).await },
        )
        .await
    }

    pub async fn mark_received(
        &self,
        order_id: OrderId,
        deadline: Deadline,
    ) -> Outcome<order::Order> {
        const SPEC: Spec = Spec::write(
            "MarkReceived",
            PUBLIC_ATTEMPTS,
            &[R::InvalidState, R::OrderNotFound],
        );
        let request = MarkReceivedRequest {
            order_id: order_id.to_string(),
        };
        call::run(
            DEPENDENCY,
            &self.client,
            deadline,
            &SPEC,
            request,
            |mut c, r| async move { c.mark_received(r).await },
        )
        .await
    }
}
