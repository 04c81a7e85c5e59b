//! Placing, paying, checking out and cancelling orders: the multi-service flows.

use shop_common::{status, time::to_timestamp};
use shop_proto::{
    common::{DeliveryInfo, ErrorReason, OrderLine, OrderStatus},
    gateway as public,
    order::{self, CreateOrderRequest},
};
use tonic::{Code, Status};
use uuid::Uuid;

use super::{Gateway, compose, convert};
use crate::{
    admission::Turn,
    auth::Caller,
    clients::{Deadline, Outcome, delivery::HOLD_MARGIN, outcome::unknown_to_public},
    idempotency::{Claim, key},
    saga::{Engine, Halt, Saga},
};

/// Where an idempotent operation stands after its key is claimed.
pub(crate) struct Keyed {
    pub claim: Claim,
    key: Option<String>,
}

impl Gateway {
    /// Claims the request's idempotency key (if it has one) for `operation`, for as
    /// long as the request may run.
    pub(crate) async fn claim_key(
        &self,
        caller: &Caller,
        metadata: &tonic::metadata::MetadataMap,
        operation: &str,
        request: &impl prost::Message,
        order_id: Uuid,
        deadline: Deadline,
    ) -> Result<Keyed, Status> {
        let Some(key) = key(metadata)? else {
            return Ok(Keyed {
                claim: Claim::Fresh(order_id),
                key: None,
            });
        };
        let claim = self
            .keys
            .claim(
                caller.user_id,
                &key,
                operation,
                &self.keys.fingerprint(operation, request),
                order_id,
                deadline.remaining(),
            )
            .await?;
        Ok(Keyed {
            claim,
            key: Some(key),
        })
    }

    /// Records how a keyed operation ended. A success, or a refusal after the order
    /// was created, is final: a retry answers with that order. An unknown outcome lets
    /// a retry take over once no saga of the order is running. A refusal before
    /// anything was created forgets the key, so it can be used again (say, with a
    /// corrected body).
    pub(crate) async fn settle<T>(
        &self,
        caller: &Caller,
        keyed: &Keyed,
        result: &Result<T, Status>,
        created: bool,
    ) {
        let Some(key) = &keyed.key else { return };
        match result {
            Ok(_) => self.keys.finish(caller.user_id, key).await,
            Err(s) if unknown(s) => self.keys.unlock(caller.user_id, key).await,
            Err(_) if created => self.keys.finish(caller.user_id, key).await,
            Err(_) => self.keys.forget(caller.user_id, key).await,
        }
    }

    /// Holds the delivery info, then creates the order (both idempotent by order id).
    /// A refused order releases its hold, so bad input leaves nothing behind.
    pub(crate) async fn place(
        &self,
        caller: &Caller,
        order_id: Uuid,
        items: &[OrderLine],
        delivery: Option<&DeliveryInfo>,
        deadline: Deadline,
    ) -> Result<order::Order, Status> {
        let Some(info) = delivery else {
            return Err(status::validation(&[(
                "delivery".into(),
                "is required".into(),
            )]));
        };
        let ttl = self.payment_window + HOLD_MARGIN;
        self.clients
            .delivery
            .hold(order_id, caller.user_id, info, ttl, deadline)
            .await
            .public("delivery-svc")
            .map_err(|s| convert::rename_fields(s, "info", "delivery"))?;

        let expires_at = chrono::Utc::now() + self.payment_window;
        let create = CreateOrderRequest {
            order_id: order_id.to_string(),
            user_id: caller.user_id.to_string(),
            lines: items.to_vec(),
            expires_at: Some(to_timestamp(expires_at)),
        };
        let created = self.clients.order.create_order(create, deadline).await;
        if let Outcome::Refused(_) = &created {
            self.release_hold(order_id, deadline).await;
        }
        created
            .public("order-svc")
            .map_err(|s| convert::rename_fields(s, "lines", "items"))
    }

    /// The order if it exists already (a resumed request), without touching anything.
    pub(crate) async fn existing(
        &self,
        order_id: Uuid,
        deadline: Deadline,
    ) -> Result<Option<order::Order>, Status> {
        match self.clients.order.get_order(order_id, deadline).await {
            Outcome::Done(order) => Ok(Some(order)),
            Outcome::Refused(refusal) if refusal.is(ErrorReason::OrderNotFound) => Ok(None),
            other => other.public("order-svc").map(Some),
        }
    }

    /// OUT_OF_STOCK when a quick look (order-svc CheckStock, one read, no retry) finds
    /// a line short now, so a sold-out purchase is refused before an order or a saga
    /// is made. Advisory: any other answer is ignored and ReserveStock, in the saga,
    /// stays the guard.
    pub(crate) async fn refuse_if_sold_out(
        &self,
        lines: &[OrderLine],
        deadline: Deadline,
    ) -> Result<(), Status> {
        match self.clients.order.check_stock(lines, deadline).await {
            Outcome::Refused(refusal) if refusal.is(ErrorReason::OutOfStock) => Err(refusal.status),
            _ => Ok(()),
        }
    }

    /// Runs the pay saga for an order in its `turn`; `owner` is the order's user,
    /// whose points are charged. Answers from what the saga saw: the order PAID, or
    /// PAYMENT_IN_PROGRESS when the log has it past the pivot but unfinished
    /// (recovery completes it).
    pub(crate) async fn pay(
        &self,
        owner: Uuid,
        order_id: Uuid,
        coupon_id: Option<Uuid>,
        deadline: Deadline,
        turn: Turn,
    ) -> Result<public::Order, Status> {
        let saga = Saga::pay(order_id, owner, coupon_id);
        let saga = self.run_saga(saga, deadline, turn).await?;
        match compose::from_saga(&saga) {
            Some(order) => Ok(order),
            None => Err(Status::internal(
                "a pay saga ended without seeing its order",
            )),
        }
    }

    /// Logs a new saga, drives it in its own task (which keeps the `turn` until the
    /// saga stops) and says how it ended for the caller: the saga when it completed or
    /// when the log has it past its pivot (it only goes forward from there), else the
    /// reason it did not.
    async fn run_saga(&self, saga: Saga, deadline: Deadline, turn: Turn) -> Result<Saga, Status> {
        self.engine
            .start(&saga)
            .await
            .map_err(|err| status::unavailable("the saga log", &err))?;
        let engine: Engine = self.engine.clone();
        let (saga, result) = detached(async move {
            let mut saga = saga;
            let ended = engine.drive(&mut saga, deadline).await;
            drop(turn);
            (saga, ended)
        })
        .await?;
        match result {
            Ok(()) => Ok(saga),
            Err(Halt::Ended(answer)) => Err(answer),
            Err(halt) if saga.logged_past_pivot() => {
                tracing::warn!(saga_id = %saga.id, ?halt, "finishing in the background");
                Ok(saga)
            }
            Err(Halt::Later(cause)) => Err(unknown_to_public(saga.step.service(), &cause)),
            Err(Halt::LeaseLost) => Err(status::error(
                Code::Unavailable,
                ErrorReason::Unavailable,
                "the payment is being finished elsewhere; look at the order again shortly",
            )),
        }
    }

    /// Cancels an unpaid order (and drops its hold) or a paid, unshipped one (saga).
    /// Answers the order when the cancel saga saw it through its pivot: CANCELLED, even
    /// while the saga finishes the refund in the background (it only goes forward
    /// from there); None when the caller should read the order.
    pub(crate) async fn cancel(
        &self,
        order: order::Order,
        reason: String,
        deadline: Deadline,
    ) -> Result<Option<public::Order>, Status> {
        let order_id = Uuid::try_parse(&order.id)
            .map_err(|_| Status::internal("order-svc answered an order without an id"))?;
        match order.status() {
            OrderStatus::Cancelled => Ok(None),
            OrderStatus::PendingPayment => {
                self.clients
                    .order
                    .cancel_order(order_id, &reason, deadline)
                    .await
                    .public("order-svc")?;
                // The hold would expire by its TTL anyway; drop it now.
                self.release_hold(order_id, deadline).await;
                Ok(None)
            }
            OrderStatus::Paid => {
                let pay_saga = Uuid::try_parse(&order.saga_id)
                    .map_err(|_| Status::internal("paid order has no saga id"))?;
                let owner = Uuid::try_parse(&order.user_id).map_err(|_| {
                    Status::internal("order-svc answered an order without a user id")
                })?;
                let saga = Saga::cancel(order_id, owner, pay_saga, reason);
                let turn = self.admission.admit(deadline).await?;
                let saga = self.run_saga(saga, deadline, turn).await?;
                Ok(Some(compose::from_cancel_saga(&saga, order)))
            }
            OrderStatus::PaymentInProgress => Err(payment_in_progress()),
            other => Err(status::error(
                Code::FailedPrecondition,
                ErrorReason::OrderNotCancellable,
                format!(
                    "an order in state {} cannot be cancelled",
                    other.as_str_name()
                ),
            )),
        }
    }

    async fn release_hold(&self, order_id: Uuid, deadline: Deadline) {
        if let Outcome::Unknown(s) = self.clients.delivery.release_hold(order_id, deadline).await {
            tracing::warn!(%order_id, message = s.message(), "cannot release hold; it expires by its TTL");
        }
    }

    /// The user confirms receipt: the delivery first (it checks ownership and state),
    /// then the order. If the second call fails, the delivery's RECEIVED event brings
    /// the order along later (see `events`).
    pub(crate) async fn confirm_receipt_of(
        &self,
        order: order::Order,
        deadline: Deadline,
    ) -> Result<(), Status> {
        match order.status() {
            OrderStatus::Received => return Ok(()),
            OrderStatus::Paid => {}
            other => {
                return Err(status::error(
                    Code::FailedPrecondition,
                    ErrorReason::InvalidState,
                    format!(
                        "only a paid order can be received; this one is {}",
                        other.as_str_name()
                    ),
                ));
            }
        }
        let ids = (Uuid::try_parse(&order.id), Uuid::try_parse(&order.user_id));
        let (Ok(order_id), Ok(user_id)) = ids else {
            return Err(Status::internal("order-svc answered an order without ids"));
        };
        self.clients
            .delivery
            .confirm_receipt(order_id, user_id, deadline)
            .await
            .public("delivery-svc")?;
        self.clients
            .order
            .mark_received(order_id, deadline)
            .await
            .public("order-svc")?;
        Ok(())
    }
}

/// Refuses control characters in the free-text fields of delivery info (into `v`): a
/// NUL, say, would be held, charged for and then refused by the database.
pub(crate) fn free_text(v: &mut shop_common::validate::Violations, info: Option<&DeliveryInfo>) {
    let Some(info) = info else { return };
    v.plain_text("delivery.recipient_name", &info.recipient_name);
    v.plain_text("delivery.address", &info.address);
    v.plain_text("delivery.contact", &info.contact);
    v.plain_text("delivery.requirement", &info.requirement);
}

/// The order is held by a saga that is running now.
pub(crate) fn payment_in_progress() -> Status {
    status::error(
        Code::Aborted,
        ErrorReason::PaymentInProgress,
        "the order is being paid right now; try again in a moment",
    )
}

/// An answer that says nothing about the business: the request may have done its
/// work or not.
fn unknown(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Unknown
            | Code::Internal
    )
}

/// Runs a saga in its own task, so that a caller who disconnects or gives up mid-way
/// (its request future is dropped) does not leave the saga half-done until its lease
/// runs out: it goes on to its end and its log says how it ended.
async fn detached<T: Send + 'static>(
    saga: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, Status> {
    tokio::spawn(tracing::Instrument::in_current_span(saga))
        .await
        .map_err(|err| {
            tracing::error!(error = %err, "saga task failed");
            status::error(Code::Internal, ErrorReason::Internal, "internal error")
        })
}
