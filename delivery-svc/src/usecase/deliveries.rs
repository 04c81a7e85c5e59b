//! Deliveries of paid orders: ConfirmDelivery (from the hold, under the order's lock),
//! CancelDelivery (or its tombstone), GetDelivery, and the status changes, each with
//! its outbox event in the same transaction.

use crate::{
    domain::{
        Action, Delivery, DeliveryStatus, EventKind, OrderId, PaymentId, SagaId, Transition,
        UserId, delivery::transition,
    },
    error::Error,
    store::{
        self, deliveries,
        events::{self, NewEvent},
        holds, transitions,
    },
};
use shop_common::internal::InternalError;

use super::Deliveries;

/// What CancelDelivery did: `cancelled` only when this call cancelled it.
pub struct CancelOutcome {
    pub cancelled: bool,
    pub delivery: Option<Delivery>,
}

enum Created {
    New(Delivery),
    /// Another call created it first.
    Existing(Delivery),
    /// The saga's cancel got here first.
    Fenced,
    /// No delivery, and no hold to make one from.
    NoHold,
}

enum Applied {
    Changed(Delivery),
    /// A repeat: the delivery was already in the target status.
    Unchanged(Delivery),
}

impl Applied {
    fn delivery(self) -> Delivery {
        match self {
            Self::Changed(d) | Self::Unchanged(d) => d,
        }
    }
}

impl Deliveries {
    /// Reads the hold, inserts the delivery, then deletes the hold: a crash between
    /// the last two leaves a hold that the retry deletes, never a lost delivery. With
    /// no hold, a live delivery (an earlier attempt made it) is success.
    pub async fn confirm(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        payment_id: Option<PaymentId>,
    ) -> Result<Delivery, Error> {
        // A repeat finds the delivery under the lock; the first call (the usual one)
        // does not look for it twice.
        match self.create(order_id, saga_id, payment_id).await? {
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

    /// Creates the delivery for a paid order from its hold, with its DELIVERY_CREATED
    /// event, in one transaction under the order's lock. Everything it decides on is
    /// read under that lock: whether a delivery exists, whether the saga's cancel
    /// fenced it, and the hold itself. So two attempts of one ConfirmDelivery, a
    /// cancel and a hold's expiry are seen in one order by all of them: an attempt
    /// that waited for the lock never acts on a hold it read before another attempt
    /// decided.
    async fn create(
        &self,
        order_id: OrderId,
        saga_id: SagaId,
        payment_id: Option<PaymentId>,
    ) -> Result<Created, Error> {
        let mut tx = self.pool.begin().await?;
        store::lock_order(&mut tx, order_id).await?;
        let (delivered, fenced) =
            deliveries::delivered_or_fenced(&mut tx, order_id, saga_id).await?;
        if delivered {
            let existing = deliveries::find_for_update(&mut tx, order_id).await?;
            tx.commit().await?;
            return existing.map(Created::Existing).ok_or_else(vanished);
        }
        if fenced {
            return Ok(Created::Fenced);
        }
        let Some(hold) = self.holds.get(order_id).await? else {
            return Ok(Created::NoHold);
        };
        let inserted =
            deliveries::insert(&mut tx, &hold, saga_id, payment_id, self.receive_after).await?;
        let Some(delivery) = inserted else {
            // Unreachable under the lock (the row was looked for above), kept as a
            // backstop.
            let existing = deliveries::find_for_update(&mut tx, order_id).await?;
            tx.commit().await?;
            return existing.map(Created::Existing).ok_or_else(vanished);
        };
        events::append(
            &mut tx,
            &[NewEvent {
                delivery_id: delivery.id,
                order_id: delivery.order_id,
                kind: EventKind::Created,
                status: delivery.status,
                auto_received: false,
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(Created::New(delivery))
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
        let mut tx = self.pool.begin().await?;
        store::lock_order(&mut tx, order_id).await?;
        let outcome = match deliveries::find_for_update(&mut tx, order_id).await? {
            Some(delivery) => {
                let applied = change(&mut tx, delivery, Action::Cancel, Some(reason)).await?;
                let cancelled = matches!(applied, Applied::Changed(_));
                if cancelled {
                    tracing::info!(%order_id, %saga_id, "delivery cancelled");
                }
                CancelOutcome {
                    cancelled,
                    delivery: Some(applied.delivery()),
                }
            }
            None => {
                transitions::insert_cancel_fence(&mut tx, order_id, saga_id, reason).await?;
                tracing::info!(%order_id, %saga_id, "cancel before any delivery: fenced");
                CancelOutcome {
                    cancelled: false,
                    delivery: None,
                }
            }
        };
        tx.commit().await?;
        self.forget_hold(order_id).await;
        Ok(outcome)
    }

    pub async fn get(&self, order_id: OrderId) -> Result<Delivery, Error> {
        deliveries::find(&self.pool, order_id)
            .await?
            .ok_or(Error::DeliveryNotFound(order_id))
    }

    /// Ship, deliver or receive; `owner` restricts it to that user's delivery (another
    /// user's is not found).
    pub async fn apply(
        &self,
        order_id: OrderId,
        action: Action,
        owner: Option<UserId>,
    ) -> Result<Delivery, Error> {
        let mut tx = self.pool.begin().await?;
        let found = deliveries::find_for_update(&mut tx, order_id)
            .await?
            .filter(|d| owner.is_none_or(|owner| owner == d.user_id));
        let Some(delivery) = found else {
            return Err(Error::DeliveryNotFound(order_id));
        };
        let applied = change(&mut tx, delivery, action, None).await?;
        tx.commit().await?;
        Ok(applied.delivery())
    }
}

/// Decides with the state machine, then writes the new status and its event. The row
/// is locked by the caller.
async fn change(
    conn: &mut sqlx::PgConnection,
    delivery: Delivery,
    action: Action,
    reason: Option<&str>,
) -> Result<Applied, Error> {
    let to = match transition(delivery.status, action)? {
        Transition::Unchanged => return Ok(Applied::Unchanged(delivery)),
        Transition::To(to) => to,
    };
    let changed = transitions::update_status(conn, &delivery, to, reason).await?;
    events::append(
        conn,
        &[NewEvent {
            delivery_id: changed.id,
            order_id: changed.order_id,
            kind: EventKind::entering(to),
            status: to,
            auto_received: false,
        }],
    )
    .await?;
    Ok(Applied::Changed(changed))
}

/// A delivery seen under the order's lock that is not there when read again.
fn vanished() -> Error {
    Error::internal(
        "inconsistent data",
        anyhow::anyhow!("the order's delivery vanished under its lock"),
    )
}
