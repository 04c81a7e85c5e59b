//! Applying one delivery event: a DELIVERY_RECEIVED moves its order to RECEIVED
//! (MarkReceived is a no-op on a RECEIVED order, so a redelivery does no harm).

use std::time::Duration;

use shop_proto::common::{ErrorReason, OrderStatus};
use tonic::Status;

use crate::clients::{Clients, Deadline, Outcome};
use crate::ids::OrderId;

/// The kind of event this consumer acts on; the others are skipped.
pub const RECEIVED: &str = "DELIVERY_RECEIVED";

/// What applying an event came to.
#[derive(Debug)]
pub enum Applied {
    /// The order is RECEIVED.
    Done,
    /// Nothing to do: the order is in a state where a receipt means nothing (it was
    /// cancelled or failed).
    Moot(String),
    /// Refused for now, for a reason that may pass (the order's payment is still
    /// being finished): retried a bounded number of times, then parked.
    NotYet(String),
    /// The dependency did not say (down, slow, erroring): the same event is tried again.
    Unknown(Status),
}

pub async fn apply(clients: &Clients, order_id: OrderId) -> Applied {
    let deadline = Deadline::after(Duration::from_secs(5));
    match clients.order.mark_received(order_id, deadline).await {
        Outcome::Done(_) => Applied::Done,
        Outcome::Unknown(cause) => Applied::Unknown(cause),
        Outcome::Refused(refusal) if refusal.is(ErrorReason::OrderNotFound) => {
            Applied::NotYet(format!(
                "order-svc does not know the order: {}",
                refusal.status.message()
            ))
        }
        Outcome::Refused(refusal) => match clients.order.get_order(order_id, deadline).await {
            Outcome::Done(order) if order.status() == OrderStatus::PaymentInProgress => {
                Applied::NotYet(
                    "the order is PAYMENT_IN_PROGRESS: its payment is still being finished".into(),
                )
            }
            Outcome::Done(order) => Applied::Moot(format!(
                "the order is {}: {}",
                order.status().as_str_name(),
                refusal.status.message()
            )),
            Outcome::Refused(refusal) => Applied::NotYet(refusal.status.message().to_owned()),
            Outcome::Unknown(cause) => Applied::Unknown(cause),
        },
    }
}
