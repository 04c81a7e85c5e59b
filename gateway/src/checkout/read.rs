//! Reading an order as a client sees it: order-svc's record, plus the payment, the
//! delivery, or (while unpaid) the held delivery info, fetched side by side. A detail
//! whose service is down is left out (and logged) rather than failing the read. A
//! saga's caller is answered from what the saga saw, without another call.

use shop_proto::{
    common::{ErrorReason, OrderStatus},
    gateway as public, order,
};
use uuid::Uuid;

use super::Checkout;
use crate::ids::{OrderId, UserId};
use crate::{
    api::convert,
    auth::Caller,
    clients::{Deadline, Outcome},
    error::{Error, Result},
    saga::{Saga, State},
};

impl Checkout {
    /// The order if `caller` may see it; another user's order is ORDER_NOT_FOUND.
    pub(crate) async fn owned_order(
        &self,
        caller: &Caller,
        order_id: OrderId,
        deadline: Deadline,
    ) -> Result<order::Order> {
        let order = match self.clients.order.get_order(order_id, deadline).await {
            Outcome::Refused(refusal) if refusal.is(ErrorReason::OrderNotFound) => {
                return Err(Error::OrderNotFound(order_id));
            }
            other => other.public("order-svc")?,
        };
        if !caller.may_see(owner_of(&order)?) {
            return Err(Error::OrderNotFound(order_id));
        }
        Ok(order)
    }

    /// The order if it exists already (a resumed request), without touching anything.
    pub(crate) async fn existing(
        &self,
        order_id: OrderId,
        deadline: Deadline,
    ) -> Result<Option<order::Order>> {
        match self.clients.order.get_order(order_id, deadline).await {
            Outcome::Done(order) => Ok(Some(order)),
            Outcome::Refused(refusal) if refusal.is(ErrorReason::OrderNotFound) => Ok(None),
            other => other.public("order-svc").map(Some),
        }
    }

    /// The whole public order, if `caller` may see it.
    pub(crate) async fn order(
        &self,
        caller: &Caller,
        order_id: OrderId,
        deadline: Deadline,
    ) -> Result<public::Order> {
        let order = self.owned_order(caller, order_id, deadline).await?;
        Ok(self.complete(order, deadline).await)
    }

    /// Adds payment, delivery or held info to an order record.
    pub(crate) async fn complete(&self, order: order::Order, deadline: Deadline) -> public::Order {
        let status = order.status();
        let unpaid = matches!(
            status,
            OrderStatus::PendingPayment | OrderStatus::PaymentInProgress
        );
        let charged = !unpaid || status == OrderStatus::PaymentInProgress;
        let shipped_or_later = matches!(
            status,
            OrderStatus::Paid | OrderStatus::Received | OrderStatus::Cancelled
        );
        let Ok(id) = id_of(&order) else {
            return convert::order(order);
        };
        let clients = &self.clients;
        let (payment, delivery, held) = tokio::join!(
            async {
                if charged {
                    optional(
                        "payment-svc",
                        clients.payment.get_payment(id, deadline).await,
                    )
                } else {
                    None
                }
            },
            async {
                if shipped_or_later {
                    optional("delivery-svc", clients.delivery.get(id, deadline).await)
                } else {
                    None
                }
            },
            async {
                if unpaid {
                    optional(
                        "delivery-svc",
                        clients.delivery.get_hold(id, deadline).await,
                    )
                    .and_then(|hold| hold.info)
                } else {
                    None
                }
            },
        );
        let mut public = convert::order(order);
        public.payment = payment;
        public.delivery = delivery;
        public.held_delivery = held;
        public
    }
}

/// The answer to the caller of a pay saga, from what the saga saw: the order as it
/// last answered (PAID once marked; PAYMENT_IN_PROGRESS while the saga finishes in the
/// background), the payment and the delivery. None when it saw no order.
pub fn from_saga(saga: &Saga) -> Option<public::Order> {
    let mut order = convert::order(saga.seen.order.clone()?);
    if saga.state != State::Completed {
        order.status = OrderStatus::PaymentInProgress as i32;
    }
    order.payment = saga.seen.payment.clone();
    order.delivery = saga.seen.delivery.clone();
    Some(order)
}

/// The answer to the caller of a cancel saga that passed its pivot (the delivery is
/// cancelled; refund, restock and the order's cancel only go forward): the order
/// CANCELLED, as it last answered (`before` the saga if the saga has not reached the
/// order yet), with the payment and the delivery the saga saw.
pub fn from_cancel_saga(saga: &Saga, before: order::Order) -> public::Order {
    let mut order = convert::order(saga.seen.order.clone().unwrap_or(before));
    order.status = OrderStatus::Cancelled as i32;
    order.payment = saga.seen.payment.clone();
    order.delivery = saga.seen.delivery.clone();
    order
}

/// A detail that may be absent: a refusal (not found) is None; an unknown outcome is
/// logged, None.
fn optional<T>(what: &str, outcome: Outcome<T>) -> Option<T> {
    match outcome {
        Outcome::Done(value) => Some(value),
        Outcome::Refused(_) => None,
        Outcome::Unknown(s) => {
            tracing::warn!(dependency = what, code = ?s.code(), message = s.message(), "order detail left out");
            None
        }
    }
}

/// The user an order of order-svc belongs to.
pub(crate) fn owner_of(order: &order::Order) -> Result<UserId> {
    Uuid::try_parse(&order.user_id)
        .map(UserId)
        .map_err(|_| Error::internal("order-svc answered an order without a user id"))
}

/// The id of an order of order-svc.
pub(crate) fn id_of(order: &order::Order) -> Result<OrderId> {
    Uuid::try_parse(&order.id)
        .map(OrderId)
        .map_err(|_| Error::internal("order-svc answered an order without an id"))
}
