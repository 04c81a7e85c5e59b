//! What one event says about an order, decoded and checked. A message that fails here
//! is poison: retrying cannot fix it, and after its retries it is dead-lettered.

use chrono::{DateTime, Utc};
use shop_common::time::from_timestamp;
use shop_events::codec::Event;
use shop_proto::common::{DeliveryStatus, OrderStatus};
use uuid::Uuid;

/// Which service's outbox the event comes from (their offsets are separate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Order,
    Delivery,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Delivery => "delivery",
        }
    }
}

/// The step of the order's life an event marks, each a timestamp column of the facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Milestone {
    Placed,
    Paid,
    Cancelled,
    Expired,
    Failed,
    Received,
    DeliveryCreated,
    Shipped,
    Delivered,
    DeliveryReceived,
    DeliveryCancelled,
}

impl Milestone {
    /// `None` for a kind this exporter does not know yet: the event still enters the
    /// timeline and moves the status.
    fn of(kind: &str) -> Option<Self> {
        Some(match kind {
            "ORDER_PLACED" => Self::Placed,
            "ORDER_PAID" => Self::Paid,
            "ORDER_CANCELLED" => Self::Cancelled,
            "ORDER_EXPIRED" => Self::Expired,
            "ORDER_FAILED" => Self::Failed,
            "ORDER_RECEIVED" => Self::Received,
            "DELIVERY_CREATED" => Self::DeliveryCreated,
            "DELIVERY_SHIPPED" => Self::Shipped,
            "DELIVERY_DELIVERED" => Self::Delivered,
            "DELIVERY_RECEIVED" => Self::DeliveryReceived,
            "DELIVERY_CANCELLED" => Self::DeliveryCancelled,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub source: Source,
    pub kind: String,
    /// `PAID`, `SHIPPED`...: the enum name without its type prefix.
    pub status: String,
    pub offset: i64,
    pub occurred_at: DateTime<Utc>,
    pub milestone: Option<Milestone>,
    pub detail: Detail,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Order {
        user_id: Uuid,
        total_amount: i64,
        discount_amount: i64,
        paid_amount: i64,
    },
    Delivery {
        auto_received: bool,
    },
}

/// Decodes and checks a message of `shop.events`.
pub fn from_message(
    routing_key: &str,
    content_type: Option<&str>,
    message_id: Option<&str>,
    body: &[u8],
) -> Result<Fact, String> {
    let event = Event::decode(routing_key, content_type, body).map_err(|e| e.to_string())?;
    if let Some(id) = message_id
        && id != event.event_id()
    {
        return Err(format!(
            "message_id {id:?} is not the event id {:?}",
            event.event_id()
        ));
    }
    let fact = match event {
        Event::Order(e) => {
            let status = OrderStatus::try_from(e.status)
                .ok()
                .filter(|s| *s != OrderStatus::Unspecified)
                .ok_or_else(|| format!("unknown order status {}", e.status))?;
            let amounts = [e.total_amount, e.discount_amount, e.paid_amount];
            if amounts.iter().any(|a| *a < 0) {
                return Err(format!("negative amount in {amounts:?}"));
            }
            Fact {
                event_id: uuid("event_id", &e.event_id)?,
                order_id: uuid("order_id", &e.order_id)?,
                source: Source::Order,
                status: strip(status.as_str_name(), "ORDER_STATUS_"),
                offset: e.offset,
                occurred_at: time(e.occurred_at.as_ref())?,
                milestone: Milestone::of(&e.kind),
                detail: Detail::Order {
                    user_id: uuid("user_id", &e.user_id)?,
                    total_amount: e.total_amount,
                    discount_amount: e.discount_amount,
                    paid_amount: e.paid_amount,
                },
                kind: e.kind,
            }
        }
        Event::Delivery(e) => {
            let status = DeliveryStatus::try_from(e.status)
                .ok()
                .filter(|s| *s != DeliveryStatus::Unspecified)
                .ok_or_else(|| format!("unknown delivery status {}", e.status))?;
            Fact {
                event_id: uuid("event_id", &e.event_id)?,
                order_id: uuid("order_id", &e.order_id)?,
                source: Source::Delivery,
                status: strip(status.as_str_name(), "DELIVERY_STATUS_"),
                offset: e.offset,
                occurred_at: time(e.occurred_at.as_ref())?,
                milestone: Milestone::of(&e.kind),
                detail: Detail::Delivery {
                    auto_received: e.auto_received,
                },
                kind: e.kind,
            }
        }
    };
    if fact.offset <= 0 {
        return Err(format!("offset must be positive, got {}", fact.offset));
    }
    if fact.kind.is_empty() {
        return Err("kind is empty".to_owned());
    }
    Ok(fact)
}

fn uuid(field: &str, raw: &str) -> Result<Uuid, String> {
    shop_common::validate::parse_uuid(raw).map_err(|problem| format!("{field} {problem}"))
}

fn time(at: Option<&shop_proto::timestamp::Timestamp>) -> Result<DateTime<Utc>, String> {
    at.and_then(from_timestamp)
        .ok_or_else(|| "occurred_at is missing or out of range".to_owned())
}

fn strip(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_owned()
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use shop_proto::{order::OrderEvent, timestamp::Timestamp};

    use super::*;

    fn paid() -> OrderEvent {
        OrderEvent {
            offset: 3,
            event_id: Uuid::now_v7().to_string(),
            order_id: Uuid::now_v7().to_string(),
            kind: "ORDER_PAID".into(),
            status: OrderStatus::Paid.into(),
            occurred_at: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            user_id: Uuid::now_v7().to_string(),
            total_amount: 3000,
            discount_amount: 500,
            paid_amount: 2500,
        }
    }

    #[test]
    fn an_order_event_becomes_a_fact() {
        let event = paid();
        let fact = from_message(
            "order.paid",
            None,
            Some(&event.event_id),
            &event.encode_to_vec(),
        )
        .unwrap();
        assert_eq!(fact.status, "PAID");
        assert_eq!(fact.milestone, Some(Milestone::Paid));
        assert_eq!(fact.source, Source::Order);
        assert!(matches!(
            fact.detail,
            Detail::Order {
                paid_amount: 2500,
                ..
            }
        ));
    }

    #[test]
    fn malformed_events_are_poison() {
        let body = |e: OrderEvent| e.encode_to_vec();
        let mut bad_id = paid();
        bad_id.event_id = "nope".into();
        assert!(from_message("order.paid", None, None, &body(bad_id)).is_err());
        let mut no_time = paid();
        no_time.occurred_at = None;
        assert!(from_message("order.paid", None, None, &body(no_time)).is_err());
        let mut negative = paid();
        negative.paid_amount = -1;
        assert!(from_message("order.paid", None, None, &body(negative)).is_err());
        assert!(from_message("order.paid", None, Some("other"), &body(paid())).is_err());
        assert!(from_message("order.paid", None, None, b"\xff\xff").is_err());
    }
}
