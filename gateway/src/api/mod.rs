//! The public services: `ShopService` for shoppers and `AdminService` for operators.
//! The gRPC server and the REST facade both call these same implementations.
//!
//! - [`shop`] / [`admin`]: the tonic trait impls (auth, validation, mapping).
//! - [`orders`]: placing, paying, checking out and cancelling orders.
//! - [`sagas`]: the saga log and parked events, for operators.
//! - [`compose`]: reading an order with its payment and delivery.
//! - [`convert`]: internal -> public messages.

pub mod admin;
pub mod compose;
pub mod convert;
pub mod orders;
pub mod sagas;
pub mod shop;

use std::{sync::Arc, time::Duration};

use crate::{
    admission::Admission, audit::Audit, auth::Authenticator, clients::Clients, idempotency::Keys,
    saga::Engine, throttle::Throttle,
};

/// Everything a public call needs; cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

pub struct Inner {
    /// The gateway's own database.
    pub pool: sqlx::PgPool,
    pub auth: Authenticator,
    pub clients: Clients,
    pub engine: Engine,
    pub keys: Keys,
    /// How many checkouts run at once (see [`crate::admission`]).
    pub admission: Admission,
    /// The per-user rate limit on writes.
    pub throttle: Throttle,
    /// The admin audit trail.
    pub audit: Audit,
    /// How long a new order waits for payment.
    pub payment_window: Duration,
}

impl Gateway {
    pub fn new(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }
}

impl std::ops::Deref for Gateway {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.inner
    }
}
