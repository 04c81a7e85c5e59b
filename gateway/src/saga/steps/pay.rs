//! The pay saga's calls (docs/design.md): lock the order, keep the delivery hold,
//! reserve stock, charge (the pivot), create the delivery, mark paid; and the undo of
//! each.

use chrono::Utc;
use shop_common::time::from_timestamp;
use uuid::Uuid;

use super::Deps;
use crate::ids::{OrderId, PaymentId};
use crate::{
    clients::{Deadline, Outcome, delivery::HOLD_MARGIN, order::PaidWith, payment::ChargeOf},
    saga::model::{Fate, Saga, Step},
};

/// Runs forward step `step` of a PAY saga.
pub(super) async fn forward(
    deps: Deps<'_>,
    saga: &mut Saga,
    step: Step,
    deadline: Deadline,
    retrying: bool,
) -> Outcome<String> {
    let clients = deps.clients;
    let (order_id, saga_id) = (saga.order_id, saga.id);
    {
        match step {
            Step::Lock => clients
                .order
                .begin_payment(order_id, saga_id, deadline)
                .await
                .map(|order| {
                    saga.amount = order.total_amount;
                    saga.seen.order = Some(order);
                    format!("amount={}", saga.amount)
                }),
            Step::KeepHold => keep_hold(deps, order_id, deadline).await,
            Step::Reserve => clients
                .order
                .reserve_stock(order_id, saga_id, deadline)
                .await
                .map(|()| String::new()),
            Step::Charge => {
                let charge = ChargeOf {
                    order_id,
                    saga_id,
                    user_id: saga.user_id,
                    amount: saga.amount,
                    coupon_id: saga.coupon_id,
                };
                clients
                    .payment
                    .charge(charge, deadline)
                    .await
                    .map(|payment| {
                        saga.payment_id = Uuid::try_parse(&payment.id).ok().map(PaymentId);
                        saga.discount_amount = payment.discount_amount;
                        saga.paid_amount = payment.paid_amount;
                        let detail = format!("payment_id={}", payment.id);
                        saga.seen.payment = Some(payment);
                        detail
                    })
            }
            Step::Deliver => deliver(deps, saga, deadline, retrying).await,
            Step::Finish => {
                let Some(payment_id) = saga.payment_id else {
                    return Outcome::Unknown(tonic::Status::internal(
                        "the saga log has no payment id for a finished charge",
                    ));
                };
                let paid = PaidWith {
                    payment_id,
                    discount_amount: saga.discount_amount,
                    paid_amount: saga.paid_amount,
                };
                clients
                    .order
                    .mark_paid(order_id, saga_id, paid, deadline)
                    .await
                    .map(|order| {
                        saga.seen.order = Some(order);
                        String::new()
                    })
            }
            other => Outcome::Unknown(tonic::Status::internal(format!(
                "{} is not a step of the pay saga",
                other.as_str()
            ))),
        }
    }
}

/// The hold must outlive the saga, recovery included.
async fn keep_hold(deps: Deps<'_>, order_id: OrderId, deadline: Deadline) -> Outcome<String> {
    let until = Utc::now() + deps.hold_for;
    deps.clients
        .delivery
        .extend_hold(order_id, until, deadline)
        .await
        .map(|_| String::new())
}

/// Creates the delivery from the hold. A retry first extends the hold again, so a
/// saga waiting out an outage does not lose the address meanwhile; a hold that is
/// gone with no delivery is the same refusal ConfirmDelivery would give.
async fn deliver(
    deps: Deps<'_>,
    saga: &mut Saga,
    deadline: Deadline,
    retrying: bool,
) -> Outcome<String> {
    if retrying && let Outcome::Refused(refusal) = keep_hold(deps, saga.order_id, deadline).await {
        return Outcome::Refused(refusal);
    }
    deps.clients
        .delivery
        .confirm(saga.order_id, saga.id, saga.payment_id, deadline)
        .await
        .map(|delivery| {
            let detail = format!("delivery_id={}", delivery.id);
            saga.seen.delivery = Some(delivery);
            detail
        })
}

/// The log label of the undo of `step`.
pub(super) fn undo_label(step: Step, fate: Fate) -> &'static str {
    match (step, fate) {
        (Step::Deliver, _) => "UNDO_DELIVER",
        (Step::Charge, _) => "UNDO_CHARGE",
        (Step::Reserve, _) => "UNDO_RESERVE",
        (Step::Lock, Fate::Abort) => "UNLOCK",
        (Step::Lock, Fate::Expire) => "EXPIRE",
        (Step::Lock, Fate::Fail) => "FAIL",
        _ => "UNDO",
    }
}

/// Undoes `step` of a PAY saga (idempotent, fenced by the saga id). The lock's undo
/// leaves the order as `fate` says, and the delivery hold with it (see
/// [`settle_hold`]).
pub(super) async fn undo(
    deps: Deps<'_>,
    saga: &mut Saga,
    step: Step,
    fate: Fate,
    deadline: Deadline,
) -> Outcome<()> {
    let undone = undo_step(deps, saga, step, fate, deadline).await;
    if step == Step::Lock && matches!(undone, Outcome::Done(())) {
        settle_hold(deps, saga, fate, deadline).await;
    }
    undone
}

/// The hold of an order whose payment was undone. Keeping the hold (KEEP_HOLD) pushed
/// its expiry well past the order's; personal data must not outlive its purpose, so a
/// payable order's hold goes back to the order's expiry, and an expired or failed
/// order's hold is deleted. Best effort: if delivery-svc cannot be reached the hold
/// still ends by its TTL.
async fn settle_hold(deps: Deps<'_>, saga: &Saga, fate: Fate, deadline: Deadline) {
    let delivery = &deps.clients.delivery;
    let order_id = saga.order_id;
    let expires_at = saga
        .seen
        .order
        .as_ref()
        .and_then(|order| order.expires_at.as_ref())
        .and_then(from_timestamp);
    let settled = match (fate, expires_at) {
        (Fate::Abort, Some(at)) => delivery
            .set_hold_expiry(order_id, at + HOLD_MARGIN, deadline)
            .await
            .map(|_| ()),
        _ => delivery.release_hold(order_id, deadline).await,
    };
    if let Outcome::Unknown(cause) = settled {
        tracing::warn!(%order_id, message = cause.message(), "cannot settle the hold; it ends by its TTL");
    }
}

async fn undo_step(
    deps: Deps<'_>,
    saga: &mut Saga,
    step: Step,
    fate: Fate,
    deadline: Deadline,
) -> Outcome<()> {
    let clients = deps.clients;
    let (order_id, saga_id) = (saga.order_id, saga.id);
    let reason = saga.last_error.clone();
    match (step, fate) {
        // Cancels a delivery that slipped in behind a lost hold, and its tombstone
        // refuses a ConfirmDelivery still on its way.
        (Step::Deliver, _) => clients
            .delivery
            .cancel(order_id, saga_id, &reason, deadline)
            .await
            .map(|_| ()),
        (Step::Charge, _) => clients
            .payment
            .refund(order_id, saga_id, &reason, deadline)
            .await
            .map(|_| ()),
        (Step::Reserve, _) => {
            clients
                .order
                .release_stock(order_id, saga_id, deadline)
                .await
        }
        (Step::Lock, Fate::Abort) => clients
            .order
            .abort_payment(order_id, saga_id, &reason, deadline)
            .await
            .map(|order| saga.seen.order = Some(order)),
        (Step::Lock, Fate::Expire) => clients
            .order
            .expire_order(order_id, saga_id, deadline)
            .await
            .map(|order| saga.seen.order = Some(order)),
        (Step::Lock, Fate::Fail) => clients
            .order
            .mark_failed(order_id, saga_id, &reason, deadline)
            .await
            .map(|order| saga.seen.order = Some(order)),
        (other, _) => Outcome::Unknown(tonic::Status::internal(format!(
            "{} has no undo in the pay saga",
            other.as_str()
        ))),
    }
}
