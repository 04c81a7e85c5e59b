//! `google.protobuf.Timestamp`, with the JSON form the proto3 mapping asks for: RFC 3339
//! in UTC ending in `Z`, with 0, 3, 6 or 9 fractional digits
//! (`"2026-11-22T03:04:05.120Z"`). pbjson-types writes `+00:00` and every digit chrono
//! keeps; strict clients expect the canonical form. Input takes any RFC 3339 offset.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Fraction of the second, 0 to 999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// The time, or `None` when out of chrono's range or `nanos` is out of bounds.
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        let nanos = u32::try_from(self.nanos)
            .ok()
            .filter(|n| *n < 1_000_000_000)?;
        DateTime::from_timestamp(self.seconds, nanos)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Self {
            seconds: at.timestamp(),
            nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let at = self
            .to_datetime()
            .ok_or_else(|| serde::ser::Error::custom("timestamp out of range"))?;
        let digits = match self.nanos {
            0 => SecondsFormat::Secs,
            n if n % 1_000_000 == 0 => SecondsFormat::Millis,
            n if n % 1_000 == 0 => SecondsFormat::Micros,
            _ => SecondsFormat::Nanos,
        };
        serializer.serialize_str(&at.to_rfc3339_opts(digits, true))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Rfc3339)
    }
}

struct Rfc3339;

impl de::Visitor<'_> for Rfc3339 {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 time such as \"2026-11-22T03:04:05Z\"")
    }

    fn visit_str<E: de::Error>(self, raw: &str) -> Result<Timestamp, E> {
        DateTime::parse_from_rfc3339(raw)
            .map(|at| Timestamp::from(at.with_timezone(&Utc)))
            .map_err(|err| E::custom(format!("invalid time {raw:?}: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(seconds: i64, nanos: i32) -> String {
        serde_json::to_string(&Timestamp { seconds, nanos }).unwrap_or_default()
    }

    #[test]
    fn writes_utc_with_z_and_0_3_6_or_9_digits() {
        assert_eq!(json(1_795_402_634, 0), r#""2026-11-23T02:57:14Z""#);
        assert_eq!(
            json(1_795_402_634, 120_000_000),
            r#""2026-11-23T02:57:14.120Z""#
        );
        assert_eq!(
            json(1_795_402_634, 792_031_000),
            r#""2026-11-23T02:57:14.792031Z""#
        );
        assert_eq!(
            json(1_795_402_634, 1),
            r#""2026-11-23T02:57:14.000000001Z""#
        );
    }

    #[test]
    fn reads_any_offset() {
        let read = |raw: &str| serde_json::from_str::<Timestamp>(raw).ok();
        let expected = Some(Timestamp {
            seconds: 1_795_402_634,
            nanos: 0,
        });
        assert_eq!(read(r#""2026-11-23T02:57:14Z""#), expected);
        assert_eq!(read(r#""2026-11-23T11:57:14+09:00""#), expected);
        assert_eq!(read(r#""yesterday""#), None);
    }
}
