//! The message body: the protobuf event of the contract (`shop.order.v1.OrderEvent`,
//! `shop.delivery.v1.DeliveryEvent`), chosen by the routing key's first word, and its
//! proto3 JSON form for people.

use prost::Message;
use shop_proto::{delivery::DeliveryEvent, order::OrderEvent};

/// The `type` property of order events.
pub const ORDER_EVENT: &str = "shop.order.v1.OrderEvent";
/// The `type` property of delivery events.
pub const DELIVERY_EVENT: &str = "shop.delivery.v1.DeliveryEvent";

/// `<aggregate>.<event>` from an outbox kind: `ORDER_PAID` -> `order.paid`,
/// `DELIVERY_CREATED` -> `delivery.created`.
pub fn routing_key(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    match lower.split_once('_') {
        Some((aggregate, event)) => format!("{aggregate}.{event}"),
        None => lower,
    }
}

/// A decoded event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Order(OrderEvent),
    Delivery(DeliveryEvent),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("routing key {0:?} names no known aggregate (order.*, delivery.*)")]
    UnknownAggregate(String),
    #[error("content type {0:?} is not {ct}", ct = crate::topology::CONTENT_TYPE)]
    ContentType(String),
    #[error("body is not a {message}: {problem}")]
    Body {
        message: &'static str,
        problem: String,
    },
}

impl Event {
    /// Decodes a message body by its routing key (and checks the content type when
    /// the message has one).
    pub fn decode(
        routing_key: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, DecodeError> {
        if let Some(ct) = content_type
            && ct != crate::topology::CONTENT_TYPE
        {
            return Err(DecodeError::ContentType(ct.to_owned()));
        }
        let body_error = |message: &'static str| {
            move |err: prost::DecodeError| DecodeError::Body {
                message,
                problem: err.to_string(),
            }
        };
        match routing_key.split('.').next() {
            Some("order") => OrderEvent::decode(body)
                .map(Self::Order)
                .map_err(body_error(ORDER_EVENT)),
            Some("delivery") => DeliveryEvent::decode(body)
                .map(Self::Delivery)
                .map_err(body_error(DELIVERY_EVENT)),
            _ => Err(DecodeError::UnknownAggregate(routing_key.to_owned())),
        }
    }

    /// The event id carried in the body.
    pub fn event_id(&self) -> &str {
        match self {
            Self::Order(event) => &event.event_id,
            Self::Delivery(event) => &event.event_id,
        }
    }

    /// The proto3 JSON mapping (camelCase fields, enums by name, int64 as strings).
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Self::Order(event) => serde_json::to_value(event),
            Self::Delivery(event) => serde_json::to_value(event),
        };
        // pbjson's impls only fail on maps with non-string keys; these have none.
        value.unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_keys_are_aggregate_dot_event() {
        assert_eq!(routing_key("ORDER_PAID"), "order.paid");
        assert_eq!(routing_key("ORDER_PLACED"), "order.placed");
        assert_eq!(routing_key("DELIVERY_RECEIVED"), "delivery.received");
    }

    #[test]
    fn bodies_decode_by_routing_key() {
        let event = OrderEvent {
            offset: 7,
            event_id: "0190c2a8-6b1e-7c4e-9f3a-2d5b8e1f4a6c".into(),
            kind: "ORDER_PAID".into(),
            paid_amount: 1500,
            ..OrderEvent::default()
        };
        let body = event.encode_to_vec();
        let decoded = Event::decode("order.paid", Some(crate::topology::CONTENT_TYPE), &body);
        assert_eq!(decoded, Ok(Event::Order(event.clone())));
        let json = Event::Order(event).to_json();
        assert_eq!(json["kind"], "ORDER_PAID");
        assert_eq!(json["paidAmount"], "1500");
        assert_eq!(json["offset"], "7");
    }

    #[test]
    fn garbage_and_strangers_are_refused() {
        assert!(matches!(
            Event::decode("order.paid", None, b"\xff\xff\xff"),
            Err(DecodeError::Body { .. })
        ));
        assert_eq!(
            Event::decode("payment.charged", None, b""),
            Err(DecodeError::UnknownAggregate("payment.charged".into()))
        );
        assert_eq!(
            Event::decode("order.paid", Some("application/json"), b""),
            Err(DecodeError::ContentType("application/json".into()))
        );
    }
}
