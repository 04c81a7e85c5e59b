//! Deliveries and their state machine:
//! PREPARING -> SHIPPED -> DELIVERED -> RECEIVED, with RECEIVED reachable early (the
//! user or the automatic timer) and CANCELLED only before shipping.

use std::fmt;

use chrono::{DateTime, Utc};

use super::{DeliveryId, DeliveryInfo, OrderId, PaymentId, SagaId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Preparing,
    Shipped,
    Delivered,
    Received,
    Cancelled,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preparing => "PREPARING",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::Received => "RECEIVED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Preparing,
            Self::Shipped,
            Self::Delivered,
            Self::Received,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What someone asks of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Ship,
    Deliver,
    /// By the user (ConfirmReceipt) or the automatic timer.
    Receive,
    Cancel,
}

impl Action {
    pub fn target(self) -> DeliveryStatus {
        match self {
            Self::Ship => DeliveryStatus::Shipped,
            Self::Deliver => DeliveryStatus::Delivered,
            Self::Receive => DeliveryStatus::Received,
            Self::Cancel => DeliveryStatus::Cancelled,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Move to this status.
    To(DeliveryStatus),
    /// Already there: a repeat, answered with the delivery as it is.
    Unchanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} delivery cannot be {action:?}-ed")]
pub struct TransitionError {
    pub from: DeliveryStatus,
    pub action: Action,
}

/// The next status for `action` from `from`, `Unchanged` for a repeat, or why not.
pub fn transition(from: DeliveryStatus, action: Action) -> Result<Transition, TransitionError> {
    use DeliveryStatus::*;
    let target = action.target();
    if from == target {
        return Ok(Transition::Unchanged);
    }
    let allowed = match action {
        Action::Ship => from == Preparing,
        Action::Deliver => from == Shipped,
        Action::Receive => matches!(from, Preparing | Shipped | Delivered),
        Action::Cancel => from == Preparing,
    };
    if allowed {
        Ok(Transition::To(target))
    } else {
        Err(TransitionError { from, action })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub order_id: OrderId,
    pub user_id: UserId,
    pub saga_id: SagaId,
    pub payment_id: Option<PaymentId>,
    pub status: DeliveryStatus,
    pub info: DeliveryInfo,
    pub auto_received: bool,
    pub created_at: DateTime<Utc>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub receive_due_at: DateTime<Utc>,
    /// When `info` was erased (cancelled, or received long enough ago); it is then empty.
    pub redacted_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    #[test]
    fn the_happy_path_moves_forward() {
        assert_eq!(
            transition(Preparing, Action::Ship),
            Ok(Transition::To(Shipped))
        );
        assert_eq!(
            transition(Shipped, Action::Deliver),
            Ok(Transition::To(Delivered))
        );
        assert_eq!(
            transition(Delivered, Action::Receive),
            Ok(Transition::To(Received))
        );
    }

    #[test]
    fn receipt_can_come_early_but_not_after_cancel() {
        assert_eq!(
            transition(Preparing, Action::Receive),
            Ok(Transition::To(Received))
        );
        assert_eq!(
            transition(Shipped, Action::Receive),
            Ok(Transition::To(Received))
        );
        assert!(transition(Cancelled, Action::Receive).is_err());
    }

    #[test]
    fn repeats_are_unchanged() {
        for action in [
            Action::Ship,
            Action::Deliver,
            Action::Receive,
            Action::Cancel,
        ] {
            assert_eq!(
                transition(action.target(), action),
                Ok(Transition::Unchanged)
            );
        }
    }

    #[test]
    fn only_a_preparing_delivery_can_be_cancelled() {
        assert_eq!(
            transition(Preparing, Action::Cancel),
            Ok(Transition::To(Cancelled))
        );
        for from in [Shipped, Delivered, Received] {
            assert_eq!(
                transition(from, Action::Cancel),
                Err(TransitionError {
                    from,
                    action: Action::Cancel
                })
            );
        }
    }

    #[test]
    fn no_skipping_or_going_back() {
        assert!(transition(Preparing, Action::Deliver).is_err());
        assert!(transition(Delivered, Action::Ship).is_err());
        assert!(transition(Received, Action::Ship).is_err());
        assert!(transition(Cancelled, Action::Ship).is_err());
    }

    #[test]
    fn status_names_round_trip() {
        for s in [Preparing, Shipped, Delivered, Received, Cancelled] {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryStatus::parse("LOST"), None);
    }
}
