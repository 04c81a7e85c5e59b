//! The hold: an unpaid order's delivery info, kept in Redis only, for a bounded time.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{DeliveryInfo, OrderId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub info: DeliveryInfo,
    /// When Redis drops it; `None` only when the hold has no expiry (never set by us).
    pub expires_at: Option<DateTime<Utc>>,
}

/// How long a new hold lives: at least a millisecond (Redis `PX` granularity) and at
/// most the server's maximum, so a client cannot park personal data indefinitely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldTtl(Duration);

impl HoldTtl {
    pub fn parse(ttl: Duration, max: Duration) -> Result<Self, String> {
        if ttl < Duration::from_millis(1) {
            return Err("must be at least 1ms".to_owned());
        }
        if ttl > max {
            return Err(format!("must be at most {}", humanize(max)));
        }
        Ok(Self(ttl))
    }

    pub fn millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
}

/// The latest moment a hold may be extended to, given the maximum hold time.
pub fn extension_target(until: DateTime<Utc>, now: DateTime<Utc>, max: Duration) -> DateTime<Utc> {
    let cap = chrono::Duration::from_std(max)
        .ok()
        .and_then(|max| now.checked_add_signed(max))
        .unwrap_or(now);
    until.min(cap)
}

fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() == 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if d.subsec_nanos() == 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn ttl_is_positive_and_bounded() {
        assert!(HoldTtl::parse(Duration::ZERO, HOUR).is_err());
        assert!(HoldTtl::parse(Duration::from_micros(999), HOUR).is_err());
        assert_eq!(
            HoldTtl::parse(Duration::from_millis(300), HOUR).map(HoldTtl::millis),
            Ok(300)
        );
        assert_eq!(
            HoldTtl::parse(HOUR, HOUR).map(HoldTtl::millis),
            Ok(3_600_000)
        );
        assert_eq!(
            HoldTtl::parse(HOUR + Duration::from_millis(1), HOUR),
            Err("must be at most 1h".to_owned())
        );
    }

    #[test]
    fn extension_is_capped_at_the_maximum() {
        let now = Utc::now();
        let far = now + chrono::Duration::hours(5);
        assert_eq!(
            extension_target(far, now, HOUR),
            now + chrono::Duration::hours(1)
        );
        let near = now + chrono::Duration::minutes(5);
        assert_eq!(extension_target(near, now, HOUR), near);
    }
}
