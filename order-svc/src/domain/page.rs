//! Opaque keyset page tokens: the position after the last item of a page.
//!
//! Products are listed by id (ids are UUIDv7, so this is roughly creation order);
//! orders newest first by (created_at, id). A token a client tampered with fails to
//! decode and the request is refused rather than silently restarting.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{OrderId, ProductId};

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 200;

/// The page size to use: default when 0, capped at the maximum; negative is refused.
pub fn page_size(requested: i32) -> Result<i64, String> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err("must not be negative".to_owned()),
        n => Ok(i64::from(n).min(MAX_PAGE_SIZE)),
    }
}

const PRODUCT_PREFIX: &str = "p1.";
const ORDER_PREFIX: &str = "o1.";

pub fn product_token(last_id: ProductId) -> String {
    format!("{PRODUCT_PREFIX}{}", last_id.0.simple())
}

pub fn parse_product_token(raw: &str) -> Result<ProductId, String> {
    raw.strip_prefix(PRODUCT_PREFIX)
        .and_then(|hex| Uuid::try_parse(hex).ok())
        .map(ProductId)
        .ok_or_else(|| "is not a page token from this service".to_owned())
}

/// The position of an order in a newest-first listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderCursor {
    pub created_at: DateTime<Utc>,
    pub id: OrderId,
}

pub fn order_token(cursor: OrderCursor) -> String {
    format!(
        "{ORDER_PREFIX}{}.{}",
        cursor.created_at.timestamp_micros(),
        cursor.id.0.simple()
    )
}

pub fn parse_order_token(raw: &str) -> Result<OrderCursor, String> {
    let bad = || "is not a page token from this service".to_owned();
    let rest = raw.strip_prefix(ORDER_PREFIX).ok_or_else(bad)?;
    let (micros, id) = rest.split_once('.').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let created_at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(bad)?;
    let id = OrderId(Uuid::try_parse(id).map_err(|_| bad())?);
    Ok(OrderCursor { created_at, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_default_and_cap() {
        assert_eq!(page_size(0), Ok(50));
        assert_eq!(page_size(7), Ok(7));
        assert_eq!(page_size(5000), Ok(200));
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let id = ProductId::generate();
        assert_eq!(parse_product_token(&product_token(id)), Ok(id));
        assert!(parse_product_token("nope").is_err());
        assert!(parse_product_token(&id.to_string()).is_err());

        let cursor = OrderCursor {
            created_at: DateTime::<Utc>::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: OrderId(id.0),
        };
        assert_eq!(parse_order_token(&order_token(cursor)), Ok(cursor));
        assert!(parse_order_token("o1.12.zz").is_err());
        assert!(parse_order_token(&product_token(id)).is_err());
    }
}
