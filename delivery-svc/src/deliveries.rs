//! What each DeliveryService call does, in domain terms: holds in Redis, deliveries in
//! Postgres, and the order between them that makes a crash lose nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::{
    domain::{
        Action, Delivery, DeliveryEvent, DeliveryInfo, DeliveryStatus, Hold, HoldTtl, OrderId,
        PaymentId, SagaId, UserId, hold::extension_target,
    },
    error::Error,
    store::{
        deliveries::{self, Created},
        events,
        holds::{self, Holds, Put},
        transitions::{self, Cancelled},
    },
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

/// What CancelDelivery did: `cancelled` only when this call cancelled it.
pub struct CancelOutcome {
    pub cancelled: bool,
    pub delivery: Option<Delivery>,
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

    /// Creates the hold, or returns the one there when it is the same user's.
    pub async fn hold(
        &self,
        order_id: OrderId,
        user_id: UserId,
        info: DeliveryInfo,
        ttl: HoldTtl,
    ) -> Result<Hold, Error> {
        match self.holds.put(order_id, user_id, &info, ttl).await? {
            Put::Created(hold) => Ok(hold),
            Put::Existing(hold) if hold.user_id == user_id => Ok(hold),
            Put::Existing(_) => Err(Error::HoldTaken),
        }
    }

    pub async fn get_hold(&self, order_id: OrderId) -> Result<Hold, Error> {
        self.holds
            .get(order_id)
            .await?
            .ok_or(Error::HoldNotFound(order_id))
    }

    /// Keeps the hold alive at least until `until` (capped at the maximum hold time).
    /// With no hold, a live delivery means ConfirmDelivery already ran and the saga is
    /// being retried: that is success, answered from the delivery.
    pub async fn extend_hold(
        &self,
        order_id: OrderId,
        until: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        let target = extension_target(until, Utc::now(), self.hold_max_ttl);
        if let Some(hold) = self.holds.extend_to(order_id, target).await? {
            return Ok(hold);
        }
        match deliveries::find(&self.pool, order_id).await? {
            Some(d) if d.status != DeliveryStatus::Cancelled => Ok(Hold {
                order_id,
                user_id: d.user_id,
                info: d.info,
                expires_at: None,
            }),
            _ => Err(Error::HoldExpired),
        }
    }

    pub async fn release_hold(&self, order_id: OrderId) -> Result<bool, Error> {
        self.holds.delete(order_id).await
    }

    /// Sets the hold to expire exactly at `at` (earlier than now deletes it), e.g. back
    /// to the order's own expiry once a payment attempt that kept it longer failed.
    pub async fn set_hold_expiry(
        &self,
        order_id: OrderId,
        at: DateTime<Utc>,
    ) -> Result<Hold, Error> {
        self.holds
            .expire_at(order_id, at)
            .await?
            .ok_or(Error::HoldNotFound(order_id))
    }

    /// Remembers that the reader `consumer` has read the outbox up to `offset`.
    pub async fn remember_cursor(&self, consumer: &str, offset: i64) -> Result<(), Error> {
        Ok(events::remember_cursor(&self.pool, consumer, offset).await?)
    }

    /// Reads the hold, inserts the delivery, then deletes the hold: a crash between
    /// the last two leaves a hold that the retry deletes, never a lost delivery. With
    /// no hold, a live delivery (an earlier attempt made it) is success.
    pub async fn confirm(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        payment_id: Option<PaymentId>,
    ) -> Result<Delivery, Error> {
        // A repeat after success needs no lock.
        if let Some(existing) = deliveries::find(&self.pool, order_id).await? {
            return self.confirmed(existing).await;
        }
        let holds = &self.holds;
        let created = deliveries::create(
            &self.pool,
            order_id,
            saga_id,
            payment_id,
            self.receive_after,
            async || holds.get(order_id).await,
        )
        .await?;
        match created {
            Created::New(delivery) => {
                tracing::info!(%order_id, %saga_id, delivery_id = %delivery.id, "delivery created");
                holds::count("confirmed");
                self.confirmed(delivery).await
            }
            Created::Existing(delivery) => self.confirmed(delivery).await,
            Created::Fenced => Err(Error::Cancelled),
            Created::NoHold => Err(Error::HoldExpired),
        }
    }

    /// A confirm is answered only once the hold is gone: the delivery now has the
    /// address, and its copy in Redis must not outlive that. A failed delete fails the
    /// call; the saga's retry finds the delivery and deletes again.
    async fn confirmed(&self, delivery: Delivery) -> Result<Delivery, Error> {
        if delivery.status == DeliveryStatus::Cancelled {
            return Err(Error::Cancelled);
        }
        self.holds.delete(delivery.order_id).await?;
        Ok(delivery)
    }

    /// PREPARING -> CANCELLED; a repeat changes nothing; with no delivery yet, a
    /// tombstone refuses this saga's late ConfirmDelivery.
    pub async fn cancel(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        reason: &str,
    ) -> Result<CancelOutcome, Error> {
        let outcome = match transitions::cancel(&self.pool, order_id, saga_id, reason).await? {
            Cancelled::Now(d) => {
                tracing::info!(%order_id, %saga_id, "delivery cancelled");
                CancelOutcome {
                    cancelled: true,
                    delivery: Some(d),
                }
            }
            Cancelled::Already(d) => CancelOutcome {
                cancelled: false,
                delivery: Some(d),
            },
            Cancelled::Tombstone => {
                tracing::info!(%order_id, %saga_id, "cancel before any delivery: fenced");
                CancelOutcome {
                    cancelled: false,
                    delivery: None,
                }
            }
        };
        self.forget_hold(order_id).await;
        Ok(outcome)
    }

    pub async fn get(&self, order_id: OrderId) -> Result<Delivery, Error> {
        deliveries::find(&self.pool, order_id)
            .await?
            .ok_or(Error::DeliveryNotFound(order_id))
    }

    /// Ship, deliver or receive; `owner` restricts it to that user's delivery.
    pub async fn apply(
        &self,
        order_id: OrderId,
        action: Action,
        owner: Option<UserId>,
    ) -> Result<Delivery, Error> {
        transitions::apply(&self.pool, order_id, action, owner)
            .await?
            .map(transitions::Applied::delivery)
            .ok_or(Error::DeliveryNotFound(order_id))
    }

    pub async fn events_after(&self, offset: i64, limit: i64) -> Result<Vec<DeliveryEvent>, Error> {
        Ok(events::after(&self.pool, offset, limit).await?)
    }

    /// Deleting a hold after the delivery exists is tidying up: if Redis is down the
    /// TTL removes it, so the caller's success does not depend on it.
    async fn forget_hold(&self, order_id: OrderId) {
        if let Err(err) = self.holds.delete(order_id).await {
            tracing::warn!(%order_id, error = %err, "could not delete the hold; its TTL will");
        }
    }
}
