//! Converting between `chrono` times and protobuf `Timestamp` / `Duration`.

use chrono::{DateTime, TimeZone, Utc};
use pbjson_types::Duration as PbDuration;
use shop_proto::timestamp::Timestamp;

pub fn to_timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp::from(at)
}

pub fn opt_timestamp(at: Option<DateTime<Utc>>) -> Option<Timestamp> {
    at.map(to_timestamp)
}

/// `None` for an out-of-range timestamp.
pub fn from_timestamp(ts: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(ts.nanos).ok()?;
    Utc.timestamp_opt(ts.seconds, nanos).single()
}

/// `None` for a negative or out-of-range duration.
pub fn from_duration(d: &PbDuration) -> Option<std::time::Duration> {
    let secs = u64::try_from(d.seconds).ok()?;
    let nanos = u32::try_from(d.nanos).ok()?;
    if nanos >= 1_000_000_000 {
        return None;
    }
    Some(std::time::Duration::new(secs, nanos))
}

pub fn to_duration(d: std::time::Duration) -> PbDuration {
    PbDuration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trip() {
        let now = Utc::now();
        assert_eq!(from_timestamp(&to_timestamp(now)), Some(now));
    }

    #[test]
    fn negative_duration_is_refused() {
        assert_eq!(
            from_duration(&PbDuration {
                seconds: -1,
                nanos: 0
            }),
            None
        );
        assert_eq!(
            from_duration(&to_duration(std::time::Duration::from_millis(1500))),
            Some(std::time::Duration::from_millis(1500))
        );
    }
}
