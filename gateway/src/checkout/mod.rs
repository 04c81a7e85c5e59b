//! The shopper's multi-service flows: place, pay, checkout (place and pay in one call),
//! cancel and confirm receipt, each under its idempotency key where it takes one, and
//! reading an order back as a client sees it. The tonic impls in `api/` validate and
//! call these; the sagas themselves are in `saga/`.
//!
//! - `place`: holding the delivery details and creating the order.
//! - `pay`: the pay saga for an order, and Checkout.
//! - `cancel`: cancelling an unpaid order, or a paid one by the cancel saga.
//! - `receipt`: the shopper confirms receipt.
//! - `read`: an order with its payment, delivery or held details; answers composed
//!   from what a saga saw.

mod cancel;
mod pay;
mod place;
mod read;
mod receipt;

use std::{future::Future, time::Duration};

use tonic::metadata::MetadataMap;

use crate::{
    admission::Admission,
    audit::{Action, Audit},
    auth::{Caller, Role},
    clients::{Clients, Deadline},
    error::Result,
    idempotency::{Keyed, Keys},
    saga::Engine,
};

use crate::ids::{OrderId, UserId};
pub use read::{from_cancel_saga, from_saga};

/// Everything the flows need; cheap to clone.
#[derive(Clone)]
pub struct Checkout {
    clients: Clients,
    engine: Engine,
    keys: Keys,
    /// How many checkouts run at once (see [`crate::admission`]).
    admission: Admission,
    /// Where an admin's action on another user's order is recorded.
    audit: Audit,
    /// How long a new order waits for payment.
    payment_window: Duration,
}

impl Checkout {
    pub fn new(
        clients: Clients,
        engine: Engine,
        keys: Keys,
        admission: Admission,
        audit: Audit,
        payment_window: Duration,
    ) -> Self {
        Self {
            clients,
            engine,
            keys,
            admission,
            audit,
            payment_window,
        }
    }

    /// Claims the request's idempotency key for an operation that makes an order: a
    /// first use gets a new order id, a retry the one its key made. The request's span
    /// records which.
    async fn claim_for_new_order(
        &self,
        caller: &Caller,
        metadata: &MetadataMap,
        operation: &str,
        request: &impl prost::Message,
        deadline: Deadline,
    ) -> Result<Keyed> {
        let keyed = self
            .keys
            .claim_request(
                caller,
                metadata,
                operation,
                request,
                OrderId::generate(),
                deadline,
            )
            .await?;
        let order_id = keyed.claim.order_id();
        tracing::Span::current().record("order_id", tracing::field::display(order_id));
        Ok(keyed)
    }

    /// Runs `work`, an action of `caller` on an order of `owner`: recorded in the
    /// admin audit trail when an admin acts on another user's order.
    async fn on_users_order<T>(
        &self,
        caller: &Caller,
        owner: UserId,
        action: &'static str,
        order_id: OrderId,
        deadline: Deadline,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        if caller.role != Role::Admin || caller.user_id == owner {
            return work.await;
        }
        let entry = Action::new(
            action,
            format!("order:{order_id}"),
            format!("owner={owner}"),
        );
        self.audit.record(caller, deadline, entry, work).await
    }
}
