//! Payments: what a charge costs, its two states, and what a refund did.

use chrono::{DateTime, Utc};

use super::{CouponId, Discount, OrderId, PaymentId, SagaId, UserId};

/// The largest order amount a charge accepts (shared with order-svc, which refuses
/// an order whose total is above it).
pub use shop_common::validate::MAX_CHARGE;

/// Refund reasons are kept for operators; longer ones are cut rather than refused,
/// because a compensation must not fail over a cosmetic field.
pub const MAX_REFUND_REASON_CHARS: usize = 500;

/// Checks the order amount of a charge. Zero is a real order of free products: it is
/// charged (a payment of nothing, no wallet needed) like any other, so a paid order
/// always has its one charged payment.
pub fn charge_amount(amount: i64) -> Result<i64, String> {
    if (0..=MAX_CHARGE).contains(&amount) {
        Ok(amount)
    } else {
        Err(format!("must be between 0 and {MAX_CHARGE}, got {amount}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Charged,
    Refunded,
}

impl PaymentStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "CHARGED" => Some(Self::Charged),
            "REFUNDED" => Some(Self::Refunded),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub saga_id: SagaId,
    pub user_id: UserId,
    pub status: PaymentStatus,
    /// The order total before the discount.
    pub amount: i64,
    pub discount_amount: i64,
    /// The points taken from the wallet: `amount - discount_amount`.
    pub paid_amount: i64,
    pub coupon_id: Option<CouponId>,
    pub created_at: DateTime<Utc>,
    pub refunded_at: Option<DateTime<Utc>>,
}

/// The pivot of the pay saga, idempotent by `(order_id, saga_id)`.
#[derive(Debug, Clone)]
pub struct ChargeCommand {
    pub order_id: OrderId,
    pub saga_id: SagaId,
    pub user_id: UserId,
    pub amount: i64,
    pub coupon_id: Option<CouponId>,
}

/// What an order of `amount` costs with an optional coupon discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub amount: i64,
    pub discount: i64,
    pub due: i64,
}

impl Quote {
    pub fn new(amount: i64, discount: Option<Discount>) -> Self {
        let discount = discount.map_or(0, |d| d.off(amount));
        Self {
            amount,
            discount,
            due: amount - discount,
        }
    }
}

/// The compensation of a charge, idempotent by `(order_id, saga_id)`.
#[derive(Debug, Clone)]
pub struct RefundCommand {
    pub order_id: OrderId,
    pub saga_id: SagaId,
    pub reason: String,
}

impl RefundCommand {
    pub fn new(order_id: OrderId, saga_id: SagaId, reason: &str) -> Self {
        Self {
            order_id,
            saga_id,
            reason: shop_common::validate::without_control_chars(
                &reason
                    .chars()
                    .take(MAX_REFUND_REASON_CHARS)
                    .collect::<String>(),
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub enum RefundOutcome {
    /// This call gave the points back and freed the coupon.
    Refunded(Payment),
    /// A repeat: the payment was refunded before.
    AlreadyRefunded(Payment),
    /// No charge of this saga: a tombstone now refuses a late one.
    Tombstone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_without_coupon_is_the_amount() {
        assert_eq!(
            Quote::new(700, None),
            Quote {
                amount: 700,
                discount: 0,
                due: 700
            }
        );
    }

    #[test]
    fn quote_with_coupons() {
        assert_eq!(Quote::new(1000, Some(Discount::Percent(15))).due, 850);
        assert_eq!(Quote::new(999, Some(Discount::Percent(10))).due, 900);
        assert_eq!(Quote::new(300, Some(Discount::Fixed(500))).due, 0);
        assert_eq!(Quote::new(300, Some(Discount::Fixed(120))).due, 180);
    }

    #[test]
    fn charge_amount_bounds() {
        assert!(charge_amount(0).is_ok(), "an order of free products");
        assert!(charge_amount(-1).is_err());
        assert!(charge_amount(i64::MAX).is_err());
        assert!(charge_amount(MAX_CHARGE).is_ok());
    }

    #[test]
    fn long_refund_reasons_are_cut() {
        let cmd = RefundCommand::new(OrderId::generate(), SagaId::generate(), &"é".repeat(1000));
        assert_eq!(cmd.reason.chars().count(), MAX_REFUND_REASON_CHARS);
    }
}
