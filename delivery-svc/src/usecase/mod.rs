//! What each DeliveryService call does, in domain terms: holds in Redis, deliveries in
//! Postgres, and the order between them that makes a crash lose nothing. Each
//! function owns its transaction, decides with [`crate::domain`] and writes through
//! [`crate::store`].
//!
//! - [`holds`]: HoldDelivery, GetHold, ExtendHold, ReleaseHold, SetHoldExpiry.
//! - [`deliveries`]: ConfirmDelivery, CancelDelivery, GetDelivery and the status
//!   changes (ship, deliver, receive).
//! - [`receipts`]: the automatic receipt of deliveries past their due time.
//! - this module: [`Deliveries`], what the calls share, and the outbox reads.

pub mod deliveries;
pub mod holds;
pub mod receipts;

use std::time::Duration;

use sqlx::PgPool;

use crate::{
    domain::DeliveryEvent,
    error::Error,
    store::{events, holds::Holds},
};

#[derive(Clone)]
pub struct Deliveries {
    pool: PgPool,
    holds: Holds,
    /// How long after creation a delivery is received automatically.
    receive_after: Duration,
    /// The longest a hold may live from now (new holds and extensions).
    hold_max_ttl: Duration,
}

impl Deliveries {
    pub fn new(
        pool: PgPool,
        holds: Holds,
        receive_after: Duration,
        hold_max_ttl: Duration,
    ) -> Self {
        Self {
            pool,
            holds,
            receive_after,
            hold_max_ttl,
        }
    }

    pub fn hold_max_ttl(&self) -> Duration {
        self.hold_max_ttl
    }

    /// Remembers that the reader `consumer` has read the outbox up to `offset`.
    pub async fn remember_cursor(&self, consumer: &str, offset: i64) -> Result<(), Error> {
        Ok(shop_events::outbox::remember_cursor(&self.pool, consumer, offset).await?)
    }

    pub async fn events_after(&self, offset: i64, limit: i64) -> Result<Vec<DeliveryEvent>, Error> {
        Ok(events::after(&self.pool, offset, limit).await?)
    }
}
