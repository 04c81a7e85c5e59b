//! Coupons: a fixed or percentage discount, a minimum order amount, an expiry, and
//! at most one order using it at a time.

use std::fmt;

use chrono::{DateTime, Utc};

use super::{CouponId, OrderId, UserId};

/// The largest fixed discount of a coupon.
pub const MAX_DISCOUNT_AMOUNT: i64 = 1_000_000_000;

/// The largest minimum order amount (the same as the largest charge).
pub const MAX_MIN_ORDER_AMOUNT: i64 = super::payment::MAX_CHARGE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// Points off, at most the order amount.
    Fixed(i64),
    /// Percent off (1..=100), rounded down.
    Percent(i32),
}

impl Discount {
    pub fn fixed(amount: i64) -> Result<Self, String> {
        if (1..=MAX_DISCOUNT_AMOUNT).contains(&amount) {
            Ok(Self::Fixed(amount))
        } else {
            Err(format!(
                "must be between 1 and {MAX_DISCOUNT_AMOUNT}, got {amount}"
            ))
        }
    }

    pub fn percent(percent: i32) -> Result<Self, String> {
        if (1..=100).contains(&percent) {
            Ok(Self::Percent(percent))
        } else {
            Err(format!("must be between 1 and 100, got {percent}"))
        }
    }

    /// The points taken off an order of `amount` (never more than `amount`).
    pub fn off(self, amount: i64) -> i64 {
        let amount = amount.max(0);
        match self {
            Self::Fixed(points) => points.min(amount),
            Self::Percent(percent) => {
                // i128: amount * 100 cannot overflow whatever amount is.
                let off = i128::from(amount) * i128::from(percent) / 100;
                i64::try_from(off).unwrap_or(amount).min(amount)
            }
        }
    }
}

/// Checks a coupon's minimum order amount.
pub fn min_order_amount(amount: i64) -> Result<i64, String> {
    if (0..=MAX_MIN_ORDER_AMOUNT).contains(&amount) {
        Ok(amount)
    } else {
        Err(format!(
            "must be between 0 and {MAX_MIN_ORDER_AMOUNT}, got {amount}"
        ))
    }
}

#[derive(Debug, Clone)]
pub struct NewCoupon {
    pub id: CouponId,
    pub user_id: UserId,
    pub discount: Discount,
    pub min_order_amount: i64,
    pub expires_at: DateTime<Utc>,
    /// Makes a repeated issue return the first coupon.
    pub request_key: Option<super::IdempotencyKey>,
}

impl NewCoupon {
    /// Whether `coupon` is what this request would issue (times to the microsecond,
    /// as stored).
    pub fn same_as(&self, coupon: &Coupon) -> bool {
        coupon.user_id == self.user_id
            && coupon.discount == self.discount
            && coupon.min_order_amount == self.min_order_amount
            && coupon.expires_at.timestamp_micros() == self.expires_at.timestamp_micros()
    }
}

#[derive(Debug, Clone)]
pub struct Coupon {
    pub id: CouponId,
    pub user_id: UserId,
    pub discount: Discount,
    pub min_order_amount: i64,
    pub expires_at: DateTime<Utc>,
    pub used_order_id: Option<OrderId>,
    pub created_at: DateTime<Utc>,
}

impl Coupon {
    /// Why `user` cannot use this coupon on an order of `amount` at `now`, if they
    /// cannot. The checks mirror the conditional UPDATE that claims a coupon.
    pub fn rejection(
        &self,
        user: UserId,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Option<CouponRejection> {
        if self.user_id != user {
            Some(CouponRejection::NotOwner)
        } else if let Some(order) = self.used_order_id {
            Some(CouponRejection::Used(order))
        } else if self.expires_at <= now {
            Some(CouponRejection::Expired(self.expires_at))
        } else if amount < self.min_order_amount {
            Some(CouponRejection::BelowMinimum {
                minimum: self.min_order_amount,
                amount,
            })
        } else {
            None
        }
    }
}

/// Which rule a coupon failed, told to the client in the COUPON_INVALID message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CouponRejection {
    Missing,
    NotOwner,
    Used(OrderId),
    Expired(DateTime<Utc>),
    BelowMinimum {
        minimum: i64,
        amount: i64,
    },
    /// The claim failed but a re-read found nothing wrong: it changed meanwhile.
    Contended,
}

impl fmt::Display for CouponRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "it does not exist"),
            Self::NotOwner => write!(f, "it belongs to another user"),
            Self::Used(order) => write!(f, "it is already used by order {order}"),
            Self::Expired(at) => write!(f, "it expired at {}", at.to_rfc3339()),
            Self::BelowMinimum { minimum, amount } => write!(
                f,
                "the order amount {amount} is below its minimum order amount {minimum}"
            ),
            Self::Contended => write!(f, "it was used or changed concurrently"),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn coupon(user: UserId) -> Coupon {
        Coupon {
            id: CouponId::generate(),
            user_id: user,
            discount: Discount::Fixed(100),
            min_order_amount: 500,
            expires_at: Utc::now() + Duration::hours(1),
            used_order_id: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn fixed_discount_is_capped_by_the_amount() {
        assert_eq!(Discount::Fixed(100).off(1000), 100);
        assert_eq!(Discount::Fixed(100).off(60), 60);
    }

    #[test]
    fn percent_discount_rounds_down() {
        assert_eq!(Discount::Percent(10).off(999), 99);
        assert_eq!(Discount::Percent(33).off(100), 33);
        assert_eq!(Discount::Percent(100).off(1234), 1234);
        assert_eq!(Discount::Percent(1).off(99), 0);
        assert_eq!(Discount::Percent(50).off(i64::MAX), i64::MAX / 2);
    }

    #[test]
    fn discount_bounds() {
        assert!(Discount::percent(0).is_err());
        assert!(Discount::percent(101).is_err());
        assert!(Discount::percent(100).is_ok());
        assert!(Discount::fixed(0).is_err());
        assert!(Discount::fixed(-1).is_err());
        assert!(Discount::fixed(i64::MAX).is_err());
        assert!(min_order_amount(-1).is_err());
        assert!(min_order_amount(0).is_ok());
    }

    #[test]
    fn rejections_name_the_failed_rule() {
        let owner = UserId(uuid::Uuid::new_v4());
        let now = Utc::now();
        let c = coupon(owner);
        assert_eq!(c.rejection(owner, 500, now), None);
        assert_eq!(
            c.rejection(UserId(uuid::Uuid::new_v4()), 500, now),
            Some(CouponRejection::NotOwner)
        );
        assert!(matches!(
            c.rejection(owner, 499, now),
            Some(CouponRejection::BelowMinimum {
                minimum: 500,
                amount: 499
            })
        ));
        assert!(matches!(
            c.rejection(owner, 500, c.expires_at),
            Some(CouponRejection::Expired(_))
        ));
        let used = Coupon {
            used_order_id: Some(OrderId(uuid::Uuid::new_v4())),
            ..c
        };
        assert!(matches!(
            used.rejection(owner, 500, now),
            Some(CouponRejection::Used(_))
        ));
    }
}
