//! The pay saga (DESIGN.md): lock the order, keep the delivery hold, reserve stock,
//! charge (the pivot), create the delivery, mark paid. Before the pivot a failure
//! compensates in reverse; after it the saga only goes forward.

use shop_common::status;
use shop_proto::{
    common::ErrorReason,
    delivery::{ConfirmDeliveryRequest, ExtendHoldRequest},
    order::{
        AbortPaymentRequest, BeginPaymentRequest, ExpireOrderRequest, MarkFailedRequest,
        MarkPaidRequest, ReleaseStockRequest, ReserveStockRequest,
    },
    payment::{ChargeRequest, RefundRequest},
};
use tonic::{Code, Status};
use tracing::Instrument;
use uuid::Uuid;

use super::{
    engine::{Engine, Halt, STEP_ATTEMPTS, step_span},
    model::{Outcome, Saga, State, Step},
};
use crate::clients::{self, Deadline, is_ambiguous};

/// Tells recovery's user-facing reason for an interrupted payment.
pub const INTERRUPTED: &str = "payment was interrupted; nothing was charged, please try again";

/// Forward failure of one step, classified.
enum Failure {
    /// Undo what was done and leave the order as `Outcome` says.
    Compensate(Outcome, Status),
    /// Nothing to undo (refused before any change).
    Refused(Status),
    /// Past the pivot and not finished: recovery goes on.
    Later(Status),
    /// Past the pivot and refused for good: an operator must look.
    Stuck(Status),
}

impl Engine {
    /// Drives a PAY saga from wherever it is to its end, as far as `deadline` allows.
    pub async fn pay(&self, saga: &mut Saga, deadline: Deadline) -> Result<(), Halt> {
        let span = tracing::info_span!("pay_saga", saga_id = %saga.id, order_id = %saga.order_id, request_id = %deadline.request_id());
        async {
            if saga.state == State::Compensating {
                return self.compensate_pay(saga).await;
            }
            match self.pay_forward(saga, deadline).await {
                Ok(()) => self.finish(saga, State::Completed, "").await,
                Err(Failure::Refused(cause)) => {
                    self.finish(saga, State::Compensated, cause.message())
                        .await?;
                    Err(Halt::Ended(cause))
                }
                Err(Failure::Compensate(outcome, cause)) => {
                    saga.outcome = Some(outcome);
                    saga.state = State::Compensating;
                    saga.last_error = cause.message().to_owned();
                    match self.compensate_pay(saga).await {
                        Ok(()) => Err(Halt::Ended(cause)),
                        // Recovery finishes the undo; the caller learns the first cause.
                        Err(Halt::Later(_)) => Err(self.defer(saga, cause).await),
                        Err(ended) => Err(ended),
                    }
                }
                Err(Failure::Later(cause)) => Err(self.defer(saga, cause).await),
                Err(Failure::Stuck(cause)) => {
                    self.finish(saga, State::Stuck, cause.message()).await?;
                    Err(Halt::Later(cause))
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn pay_forward(&self, saga: &mut Saga, deadline: Deadline) -> Result<(), Failure> {
        let (order_id, saga_id) = (saga.order_id.to_string(), saga.id.to_string());

        if Self::pending(saga, Step::Lock) {
            self.begin(saga, Step::Lock).await.map_err(later)?;
            let request = BeginPaymentRequest {
                order_id: order_id.clone(),
                saga_id: saga_id.clone(),
            };
            let order = clients::retry(
                deadline,
                STEP_ATTEMPTS,
                "order-svc",
                call!(self.clients.order, begin_payment, request),
            )
            .instrument(step_span(Step::Lock.as_str()))
            .await
            .map_err(|s| {
                if is_ambiguous(&s) {
                    abort("order-svc")(s)
                } else {
                    Failure::Refused(public("order-svc", s))
                }
            })?;
            saga.amount = order.total_amount;
            self.done(saga, &format!("amount={}", saga.amount))
                .await
                .map_err(later)?;
        }

        if Self::pending(saga, Step::KeepHold) {
            self.begin(saga, Step::KeepHold).await.map_err(later)?;
            let until = chrono::Utc::now() + self.hold_for;
            let request = ExtendHoldRequest {
                order_id: order_id.clone(),
                until: Some(shop_common::time::to_timestamp(until)),
            };
            clients::retry(
                deadline,
                STEP_ATTEMPTS,
                "delivery-svc",
                call!(self.clients.delivery, extend_hold, request),
            )
            .instrument(step_span(Step::KeepHold.as_str()))
            .await
            .map_err(|s| {
                if status::reason(&s).as_deref()
                    == Some(ErrorReason::DeliveryHoldExpired.as_str_name())
                {
                    Failure::Compensate(Outcome::Expire, hold_expired_before_payment())
                } else {
                    abort("delivery-svc")(s)
                }
            })?;
            self.done(saga, "").await.map_err(later)?;
        }

        if Self::pending(saga, Step::Reserve) {
            self.begin(saga, Step::Reserve).await.map_err(later)?;
            let request = ReserveStockRequest {
                order_id: order_id.clone(),
                saga_id: saga_id.clone(),
            };
            clients::retry(
                deadline,
                STEP_ATTEMPTS,
                "order-svc",
                call!(self.clients.order, reserve_stock, request),
            )
            .instrument(step_span(Step::Reserve.as_str()))
            .await
            .map_err(abort("order-svc"))?;
            self.done(saga, "").await.map_err(later)?;
        }

        if Self::pending(saga, Step::Charge) {
            self.begin(saga, Step::Charge).await.map_err(later)?;
            let request = ChargeRequest {
                order_id: order_id.clone(),
                saga_id: saga_id.clone(),
                user_id: saga.user_id.to_string(),
                amount: saga.amount,
                coupon_id: saga.coupon_id.map(|c| c.to_string()).unwrap_or_default(),
            };
            let payment = clients::retry(
                deadline,
                STEP_ATTEMPTS,
                "payment-svc",
                call!(self.clients.payment, charge, request),
            )
            .instrument(step_span(Step::Charge.as_str()))
            .await
            .map_err(abort("payment-svc"))?;
            saga.payment_id = Uuid::try_parse(&payment.id).ok();
            saga.discount_amount = payment.discount_amount;
            saga.paid_amount = payment.paid_amount;
            self.done(saga, &format!("payment_id={}", payment.id))
                .await
                .map_err(later)?;
        }

        // Past the pivot: retry while the budget lasts, then leave it to recovery.
        let forward_attempts = 20;
        if Self::pending(saga, Step::Deliver) {
            self.begin(saga, Step::Deliver).await.map_err(later)?;
            let request = ConfirmDeliveryRequest {
                order_id: order_id.clone(),
                saga_id: saga_id.clone(),
                payment_id: saga.payment_id.map(|p| p.to_string()).unwrap_or_default(),
            };
            clients::retry(
                deadline,
                forward_attempts,
                "delivery-svc",
                call!(self.clients.delivery, confirm_delivery, request),
            )
            .instrument(step_span(Step::Deliver.as_str()))
            .await
            .map_err(|s| {
                if is_ambiguous(&s) {
                    Failure::Later(public("delivery-svc", s))
                } else {
                    Failure::Compensate(Outcome::Fail, delivery_lost(&s))
                }
            })?;
            self.done(saga, "").await.map_err(later)?;
        }

        if Self::pending(saga, Step::Finish) {
            self.begin(saga, Step::Finish).await.map_err(later)?;
            let request = MarkPaidRequest {
                order_id,
                saga_id,
                payment_id: saga.payment_id.map(|p| p.to_string()).unwrap_or_default(),
                discount_amount: saga.discount_amount,
                paid_amount: saga.paid_amount,
            };
            clients::retry(
                deadline,
                forward_attempts,
                "order-svc",
                call!(self.clients.order, mark_paid, request),
            )
            .instrument(step_span(Step::Finish.as_str()))
            .await
            .map_err(|s| {
                if is_ambiguous(&s) {
                    Failure::Later(public("order-svc", s))
                } else {
                    Failure::Stuck(Status::internal(format!(
                        "order refused MarkPaid after the charge: {}",
                        s.message()
                    )))
                }
            })?;
            self.done(saga, "").await.map_err(later)?;
        }
        Ok(())
    }

    /// Undoes a PAY saga in reverse (every call idempotent and fenced by the saga id),
    /// then leaves the order as its outcome says.
    pub(crate) async fn compensate_pay(&self, saga: &mut Saga) -> Result<(), Halt> {
        let (order_id, saga_id) = (saga.order_id.to_string(), saga.id.to_string());
        let reason = saga.last_error.clone();
        if saga.reached(Step::Charge) {
            let request = RefundRequest {
                order_id: order_id.clone(),
                saga_id: saga_id.clone(),
                reason: reason.clone(),
            };
            self.undo(
                saga,
                "UNDO_CHARGE",
                call!(self.clients.payment, refund, request),
            )
            .await?;
        }
        if saga.reached(Step::Reserve) {
            let request = ReleaseStockRequest {
                order_id: order_id.clone(),
                saga_id: saga_id.clone(),
            };
            self.undo(
                saga,
                "UNDO_RESERVE",
                call!(self.clients.order, release_stock, request),
            )
            .await?;
        }
        match saga.outcome.unwrap_or(Outcome::Abort) {
            Outcome::Abort => {
                let request = AbortPaymentRequest {
                    order_id,
                    saga_id,
                    reason,
                };
                self.undo(
                    saga,
                    "UNLOCK",
                    call!(self.clients.order, abort_payment, request),
                )
                .await?;
            }
            Outcome::Expire => {
                let request = ExpireOrderRequest { order_id, saga_id };
                self.undo(
                    saga,
                    "EXPIRE",
                    call!(self.clients.order, expire_order, request),
                )
                .await?;
            }
            Outcome::Fail => {
                let request = MarkFailedRequest {
                    order_id,
                    saga_id,
                    reason,
                };
                self.undo(
                    saga,
                    "FAIL",
                    call!(self.clients.order, mark_failed, request),
                )
                .await?;
            }
        }
        let detail = saga.last_error.clone();
        self.finish(saga, State::Compensated, &detail).await
    }
}

fn public(what: &str, status: Status) -> Status {
    clients::public(what, status)
}

/// Any failure before the pivot: undo and return the order to PENDING_PAYMENT.
fn abort(service: &'static str) -> impl Fn(Status) -> Failure {
    move |status| Failure::Compensate(Outcome::Abort, public(service, status))
}

fn later(halt: Halt) -> Failure {
    Failure::Later(halt.into_status())
}

fn hold_expired_before_payment() -> Status {
    status::error(
        Code::FailedPrecondition,
        ErrorReason::DeliveryHoldExpired,
        "the delivery details of this order expired before payment; nothing was charged, place the order again",
    )
}

fn delivery_lost(cause: &Status) -> Status {
    tracing::warn!(code = ?cause.code(), message = cause.message(), "delivery could not be created after the charge");
    status::error(
        Code::FailedPrecondition,
        ErrorReason::DeliveryHoldExpired,
        "the delivery details of this order were lost after payment; the points were refunded and the order failed",
    )
}
