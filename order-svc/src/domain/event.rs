//! The kinds of events in the order outbox, one per visible lifecycle change.

use super::OrderStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Placed,
    Paid,
    Cancelled,
    Expired,
    Received,
    Failed,
}

impl EventKind {
    /// The event written when an order enters `status`; the saga's internal moves
    /// (into and out of PAYMENT_IN_PROGRESS) are not announced.
    pub fn on_entering(status: OrderStatus) -> Option<Self> {
        match status {
            OrderStatus::PendingPayment | OrderStatus::PaymentInProgress => None,
            OrderStatus::Paid => Some(Self::Paid),
            OrderStatus::Received => Some(Self::Received),
            OrderStatus::Cancelled => Some(Self::Cancelled),
            OrderStatus::Expired => Some(Self::Expired),
            OrderStatus::Failed => Some(Self::Failed),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "ORDER_PLACED",
            Self::Paid => "ORDER_PAID",
            Self::Cancelled => "ORDER_CANCELLED",
            Self::Expired => "ORDER_EXPIRED",
            Self::Received => "ORDER_RECEIVED",
            Self::Failed => "ORDER_FAILED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saga_internal_moves_are_silent() {
        assert_eq!(EventKind::on_entering(OrderStatus::PaymentInProgress), None);
        assert_eq!(EventKind::on_entering(OrderStatus::PendingPayment), None);
        assert_eq!(
            EventKind::on_entering(OrderStatus::Paid),
            Some(EventKind::Paid)
        );
    }
}
