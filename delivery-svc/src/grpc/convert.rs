//! The only place proto types meet domain types: request parsing (every violation
//! collected) and response building.

use std::time::Duration;

use shop_common::{
    checked::{self, Checked},
    time,
    validate::Violations,
};
use shop_proto::{common as pb, delivery as api};

use crate::{
    domain::{
        Delivery, DeliveryEvent, DeliveryInfo, DeliveryStatus, Hold, HoldTtl, OrderId, PaymentId,
        SagaId, UserId,
    },
    error::Error,
};

/// Every violation found, as INVALID_ARGUMENT / VALIDATION_FAILED.
fn finish(v: Violations) -> Result<(), Error> {
    checked::finish(v).map_err(Error::Invalid)
}

/// A request that names only an order.
pub fn order_id(raw: &str) -> Result<OrderId, Error> {
    let mut v = Violations::new();
    let id = v.uuid("order_id", raw);
    finish(v)?;
    Ok(OrderId(id.checked("order_id")?))
}

pub struct HoldInput {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub info: DeliveryInfo,
    pub ttl: HoldTtl,
}

pub fn hold_request(req: api::HoldDeliveryRequest, max_ttl: Duration) -> Result<HoldInput, Error> {
    let mut v = Violations::new();
    let order_id = v.uuid("order_id", &req.order_id);
    let user_id = v.uuid("user_id", &req.user_id);
    let info = match &req.info {
        None => {
            v.add("info", "is required");
            None
        }
        Some(raw) => {
            match DeliveryInfo::parse(
                &raw.recipient_name,
                &raw.address,
                &raw.contact,
                &raw.requirement,
            ) {
                Ok(info) => Some(info),
                Err(problems) => {
                    for (field, problem) in problems {
                        v.add(format!("info.{field}"), problem);
                    }
                    None
                }
            }
        }
    };
    let ttl = match req.ttl.as_ref().map(time::from_duration) {
        None => {
            v.add("ttl", "is required");
            None
        }
        Some(None) => {
            v.add("ttl", "must be a positive duration");
            None
        }
        Some(Some(ttl)) => match HoldTtl::parse(ttl, max_ttl) {
            Ok(ttl) => Some(ttl),
            Err(problem) => {
                v.add("ttl", problem);
                None
            }
        },
    };
    finish(v)?;
    Ok(HoldInput {
        order_id: OrderId(order_id.checked("order_id")?),
        user_id: UserId(user_id.checked("user_id")?),
        info: info.checked("info")?,
        ttl: ttl.checked("ttl")?,
    })
}

pub fn extend_request(
    req: &api::ExtendHoldRequest,
) -> Result<(OrderId, chrono::DateTime<chrono::Utc>), Error> {
    let mut v = Violations::new();
    let order_id = v.uuid("order_id", &req.order_id);
    let until = match req.until.as_ref().map(time::from_timestamp) {
        None => {
            v.add("until", "is required");
            None
        }
        Some(None) => {
            v.add("until", "must be a valid timestamp");
            None
        }
        Some(until) => until,
    };
    finish(v)?;
    Ok((
        OrderId(order_id.checked("order_id")?),
        until.checked("until")?,
    ))
}

pub fn confirm_request(
    req: &api::ConfirmDeliveryRequest,
) -> Result<(OrderId, SagaId, Option<PaymentId>), Error> {
    let mut v = Violations::new();
    let order_id = v.uuid("order_id", &req.order_id);
    let saga_id = v.uuid("saga_id", &req.saga_id);
    let payment_id = v.optional_uuid("payment_id", &req.payment_id);
    finish(v)?;
    Ok((
        OrderId(order_id.checked("order_id")?),
        SagaId(saga_id.checked("saga_id")?),
        payment_id.map(PaymentId),
    ))
}

pub fn cancel_request(req: &api::CancelDeliveryRequest) -> Result<(OrderId, SagaId), Error> {
    let mut v = Violations::new();
    let order_id = v.uuid("order_id", &req.order_id);
    let saga_id = v.uuid("saga_id", &req.saga_id);
    v.check(
        req.reason.chars().count() <= 500,
        "reason",
        "must be at most 500 characters",
    );
    finish(v)?;
    Ok((
        OrderId(order_id.checked("order_id")?),
        SagaId(saga_id.checked("saga_id")?),
    ))
}

/// A compensation's reason as stored: control characters blanked, never refused (an
/// undo must not fail over its wording).
pub fn cancel_reason(raw: &str) -> String {
    shop_common::validate::without_control_chars(raw)
}

pub fn set_expiry_request(
    req: &api::SetHoldExpiryRequest,
) -> Result<(OrderId, chrono::DateTime<chrono::Utc>), Error> {
    let mut v = Violations::new();
    let order_id = v.uuid("order_id", &req.order_id);
    let at = match req.at.as_ref().map(time::from_timestamp) {
        None => {
            v.add("at", "is required");
            None
        }
        Some(None) => {
            v.add("at", "must be a valid timestamp");
            None
        }
        Some(at) => at,
    };
    finish(v)?;
    Ok((OrderId(order_id.checked("order_id")?), at.checked("at")?))
}

/// The offset a StreamEvents request starts after, and the reader's name if given.
pub fn stream_request(req: &api::StreamEventsRequest) -> Result<(i64, Option<String>), Error> {
    let mut v = Violations::new();
    v.check(
        req.after_offset >= 0,
        "after_offset",
        "must not be negative",
    );
    let consumer = v.consumer_name("consumer", &req.consumer);
    finish(v)?;
    Ok((req.after_offset, consumer))
}

pub fn receipt_request(req: &api::ConfirmReceiptRequest) -> Result<(OrderId, UserId), Error> {
    let mut v = Violations::new();
    let order_id = v.uuid("order_id", &req.order_id);
    let user_id = v.uuid("user_id", &req.user_id);
    finish(v)?;
    Ok((
        OrderId(order_id.checked("order_id")?),
        UserId(user_id.checked("user_id")?),
    ))
}

fn info(info: DeliveryInfo) -> pb::DeliveryInfo {
    pb::DeliveryInfo {
        recipient_name: info.recipient_name,
        address: info.address,
        contact: info.contact,
        requirement: info.requirement,
    }
}

pub fn hold(hold: Hold) -> api::Hold {
    api::Hold {
        order_id: hold.order_id.to_string(),
        user_id: hold.user_id.to_string(),
        info: Some(info(hold.info)),
        expires_at: time::opt_timestamp(hold.expires_at),
    }
}

pub fn status(status: DeliveryStatus) -> pb::DeliveryStatus {
    match status {
        DeliveryStatus::Preparing => pb::DeliveryStatus::Preparing,
        DeliveryStatus::Shipped => pb::DeliveryStatus::Shipped,
        DeliveryStatus::Delivered => pb::DeliveryStatus::Delivered,
        DeliveryStatus::Received => pb::DeliveryStatus::Received,
        DeliveryStatus::Cancelled => pb::DeliveryStatus::Cancelled,
    }
}

pub fn delivery(d: Delivery) -> pb::Delivery {
    pb::Delivery {
        id: d.id.to_string(),
        order_id: d.order_id.to_string(),
        user_id: d.user_id.to_string(),
        status: status(d.status).into(),
        info: d.redacted_at.is_none().then(|| info(d.info)),
        auto_received: d.auto_received,
        created_at: Some(time::to_timestamp(d.created_at)),
        shipped_at: time::opt_timestamp(d.shipped_at),
        delivered_at: time::opt_timestamp(d.delivered_at),
        received_at: time::opt_timestamp(d.received_at),
        receive_due_at: Some(time::to_timestamp(d.receive_due_at)),
        cancelled_at: time::opt_timestamp(d.cancelled_at),
        redacted_at: time::opt_timestamp(d.redacted_at),
    }
}

pub fn event(e: DeliveryEvent) -> api::DeliveryEvent {
    api::DeliveryEvent {
        offset: e.offset,
        event_id: e.event_id.to_string(),
        order_id: e.order_id.to_string(),
        kind: e.kind,
        status: e.status.map(status).unwrap_or_default().into(),
        auto_received: e.auto_received,
        occurred_at: Some(time::to_timestamp(e.occurred_at)),
    }
}
