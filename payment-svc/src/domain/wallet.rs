//! Wallets of points, top-ups and the ledger of every balance change.

use chrono::{DateTime, Utc};

use super::{Coupon, OrderId, UserId};

/// The largest single top-up.
pub const MAX_TOP_UP: i64 = 1_000_000_000;

/// Longest idempotency key accepted (Stripe's limit is 255).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A client-chosen key that makes a top-up happen at most once per user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// `None` for an empty key (the request is not idempotent).
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        if raw.is_empty() {
            return Ok(None);
        }
        if raw.len() > MAX_IDEMPOTENCY_KEY_LEN {
            return Err(format!(
                "must be at most {MAX_IDEMPOTENCY_KEY_LEN} bytes, got {}",
                raw.len()
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters".to_owned());
        }
        Ok(Some(Self(raw.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks the amount of one top-up.
pub fn top_up_amount(amount: i64) -> Result<i64, String> {
    if (1..=MAX_TOP_UP).contains(&amount) {
        Ok(amount)
    } else {
        Err(format!("must be between 1 and {MAX_TOP_UP}, got {amount}"))
    }
}

#[derive(Debug, Clone)]
pub struct TopUp {
    pub user_id: UserId,
    pub amount: i64,
    pub idempotency_key: Option<IdempotencyKey>,
}

/// A user's balance and coupons; an unknown user has a zero balance.
#[derive(Debug, Clone)]
pub struct Wallet {
    pub user_id: UserId,
    pub balance: i64,
    pub coupons: Vec<Coupon>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    TopUp,
    Charge,
    Refund,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TopUp => "TOP_UP",
            Self::Charge => "CHARGE",
            Self::Refund => "REFUND",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "TOP_UP" => Some(Self::TopUp),
            "CHARGE" => Some(Self::Charge),
            "REFUND" => Some(Self::Refund),
            _ => None,
        }
    }
}

/// One balance change: `amount` is signed, `balance_after` is the balance it left.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub id: i64,
    pub user_id: UserId,
    pub kind: LedgerKind,
    pub amount: i64,
    pub order_id: Option<OrderId>,
    pub balance_after: i64,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_up_amount_bounds() {
        assert!(top_up_amount(1).is_ok());
        assert!(top_up_amount(MAX_TOP_UP).is_ok());
        assert!(top_up_amount(0).is_err());
        assert!(top_up_amount(-5).is_err());
        assert!(top_up_amount(MAX_TOP_UP + 1).is_err());
        assert!(top_up_amount(i64::MAX).is_err());
    }

    #[test]
    fn empty_key_means_no_key() {
        assert_eq!(IdempotencyKey::parse(""), Ok(None));
        assert!(matches!(IdempotencyKey::parse("k-1"), Ok(Some(_))));
        assert!(IdempotencyKey::parse(&"x".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("a\nb").is_err());
    }

    #[test]
    fn ledger_kinds_round_trip() {
        for kind in [LedgerKind::TopUp, LedgerKind::Charge, LedgerKind::Refund] {
            assert_eq!(LedgerKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(LedgerKind::parse("top_up"), None);
    }
}
