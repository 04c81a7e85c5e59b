//! The holds of unpaid orders' delivery info in Redis: created once per order and
//! user, read, extended for a running saga, released, or set to expire.

use chrono::{DateTime, Utc};

use super::Deliveries;
use crate::{
    domain::{
        DeliveryInfo, DeliveryStatus, Hold, HoldTtl, OrderId, UserId, hold::extension_target,
    },
    error::Error,
    store::{deliveries, holds::Put},
};

impl Deliveries {
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

    /// Deleting a hold after the delivery exists is tidying up: if Redis is down the
    /// TTL removes it, so the caller's success does not depend on it.
    pub(super) async fn forget_hold(&self, order_id: OrderId) {
        if let Err(err) = self.holds.delete(order_id).await {
            tracing::warn!(%order_id, error = %err, "could not delete the hold; its TTL will");
        }
    }
}
