//! Outbox events: what happened to a delivery, without any personal data.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{DeliveryStatus, OrderId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Shipped,
    Delivered,
    Received,
    Cancelled,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "DELIVERY_CREATED",
            Self::Shipped => "DELIVERY_SHIPPED",
            Self::Delivered => "DELIVERY_DELIVERED",
            Self::Received => "DELIVERY_RECEIVED",
            Self::Cancelled => "DELIVERY_CANCELLED",
        }
    }

    /// The event that records entering `status`.
    pub fn entering(status: DeliveryStatus) -> Self {
        match status {
            DeliveryStatus::Preparing => Self::Created,
            DeliveryStatus::Shipped => Self::Shipped,
            DeliveryStatus::Delivered => Self::Delivered,
            DeliveryStatus::Received => Self::Received,
            DeliveryStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// An event as read back from the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryEvent {
    pub offset: i64,
    pub event_id: Uuid,
    pub order_id: OrderId,
    pub kind: String,
    pub status: Option<DeliveryStatus>,
    pub auto_received: bool,
    pub occurred_at: DateTime<Utc>,
}
