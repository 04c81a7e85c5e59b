//! The public services: `ShopService` for shoppers and `AdminService` for operators,
//! as thin tonic impls (authenticate, rate-limit, validate, call, answer). The gRPC
//! server and the REST facade both call these same implementations; the flows they
//! call are in `crate::checkout`.
//!
//! - [`shop`] / [`admin`]: the tonic trait impls.
//! - [`operators`]: the saga log, parked events and audit trail, for operators.
//! - [`convert`]: internal -> public messages.

pub mod admin;
pub mod convert;
pub mod operators;
pub mod shop;

use std::sync::Arc;

use crate::{
    audit::Audit, auth::Authenticator, checkout::Checkout, clients::Clients, saga::SagaLog,
    throttle::Throttle,
};

/// Everything a public call needs; cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Parts>,
}

/// What [`Gateway`] is made of.
pub struct Parts {
    pub auth: Authenticator,
    /// The per-user rate limit on writes.
    pub throttle: Throttle,
    pub checkout: Checkout,
    /// For the calls that pass straight through to one service.
    pub clients: Clients,
    /// The saga log, for operators.
    pub sagas: SagaLog,
    /// The gateway's own database (parked events).
    pub pool: sqlx::PgPool,
    /// The admin audit trail.
    pub audit: Audit,
}

impl Gateway {
    pub fn new(parts: Parts) -> Self {
        Self {
            inner: Arc::new(parts),
        }
    }

    pub fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    fn parts(&self) -> &Parts {
        &self.inner
    }
}
