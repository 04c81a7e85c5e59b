//! The only place proto types meet domain types: request validation into domain
//! inputs (collecting every field violation) and domain values into proto messages.

use chrono::{DateTime, Utc};
use shop_common::{
    checked::{self, Checked},
    time::{from_timestamp, to_timestamp},
    validate::Violations,
};
use shop_proto::{common as pbc, order as pb};
use uuid::Uuid;

use crate::{
    domain::{
        Command, Order, OrderId, OrderStatus, PaymentId, Product, ProductId, SagaId, UserId,
        lifecycle::PaymentRecord,
        order::{LineRequest, MAX_LINES, MAX_QUANTITY, NewOrder},
        page::{self, OrderCursor},
        product::{NewProduct, ProductName, StockAdjustment},
    },
    error::Error,
    store::events::EventRow,
};
use shop_common::internal::InternalError;

/// Longest reason kept in `last_error` / `cancel_reason`, in characters. Longer
/// reasons are cut, and control characters blanked, rather than refused: a
/// compensation must not fail on its wording (the gateway refuses them from users).
const MAX_REASON_CHARS: usize = 500;

/// Every violation found, as INVALID_ARGUMENT / VALIDATION_FAILED.
fn finish(v: Violations) -> Result<(), Error> {
    checked::finish(v).map_err(Error::Invalid)
}

/// A required id field on its own (`ProductId`, `OrderId`...).
pub fn id<T: From<Uuid>>(field: &'static str, raw: &str) -> Result<T, Error> {
    let mut v = Violations::new();
    let id = v.uuid(field, raw);
    finish(v)?;
    Ok(T::from(id.checked(field)?))
}

/// `order_id` and `saga_id`, both required.
pub fn order_and_saga(order_id: &str, saga_id: &str) -> Result<(OrderId, SagaId), Error> {
    let mut v = Violations::new();
    let order = v.uuid("order_id", order_id);
    let saga = v.uuid("saga_id", saga_id);
    finish(v)?;
    Ok((
        OrderId(order.checked("order_id")?),
        SagaId(saga.checked("saga_id")?),
    ))
}

pub fn reason(raw: &str) -> String {
    let kept: String = raw.trim().chars().take(MAX_REASON_CHARS).collect();
    shop_common::validate::without_control_chars(&kept)
}

/// The offset a StreamEvents request starts after, and the reader's name if given.
pub fn stream_request(req: &pb::StreamEventsRequest) -> Result<(i64, Option<String>), Error> {
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

pub fn new_product(req: &pb::CreateProductRequest) -> Result<NewProduct, Error> {
    let mut v = Violations::new();
    v.plain_text("name", &req.name);
    let name = ProductName::parse(&req.name)
        .map_err(|problem| v.add("name", problem))
        .ok();
    v.check(req.price >= 0, "price", "must not be negative");
    v.check(req.stock >= 0, "stock", "must not be negative");
    let request_key = request_key(&mut v, &req.request_key);
    finish(v)?;
    let name = name.checked("name")?;
    Ok(NewProduct {
        name,
        price: req.price,
        stock: req.stock,
        request_key,
    })
}

pub fn adjust_stock(req: &pb::AdjustStockRequest) -> Result<StockAdjustment, Error> {
    let mut v = Violations::new();
    let id = v.uuid("product_id", &req.product_id);
    v.check(req.delta != 0, "delta", "must not be zero");
    let request_key = request_key(&mut v, &req.request_key);
    finish(v)?;
    let product_id = ProductId(id.checked("product_id")?);
    Ok(StockAdjustment {
        product_id,
        delta: req.delta,
        request_key,
    })
}

/// Longest request key, in bytes (the gateway's keys plus its scope fit easily).
const MAX_REQUEST_KEY: usize = 300;

/// An optional request key: empty is none.
fn request_key(v: &mut Violations, raw: &str) -> Option<String> {
    v.check(
        raw.len() <= MAX_REQUEST_KEY,
        "request_key",
        format!("must be at most {MAX_REQUEST_KEY} bytes"),
    );
    (!raw.is_empty()).then(|| raw.to_owned())
}

/// Page size and the position after which to list products.
pub fn product_page(req: &pb::ListProductsRequest) -> Result<(i64, Option<ProductId>), Error> {
    let mut v = Violations::new();
    let size = page::page_size(req.page_size)
        .map_err(|p| v.add("page_size", p))
        .ok();
    let after = match req.page_token.as_str() {
        "" => None,
        raw => page::parse_product_token(raw)
            .map_err(|p| v.add("page_token", p))
            .ok(),
    };
    finish(v)?;
    Ok((size.unwrap_or(page::DEFAULT_PAGE_SIZE), after))
}

pub fn order_page(
    req: &pb::ListOrdersRequest,
) -> Result<(UserId, i64, Option<OrderCursor>), Error> {
    let mut v = Violations::new();
    let user = v.uuid("user_id", &req.user_id);
    let size = page::page_size(req.page_size)
        .map_err(|p| v.add("page_size", p))
        .ok();
    let after = match req.page_token.as_str() {
        "" => None,
        raw => page::parse_order_token(raw)
            .map_err(|p| v.add("page_token", p))
            .ok(),
    };
    finish(v)?;
    let user = UserId(user.checked("user_id")?);
    Ok((user, size.unwrap_or(page::DEFAULT_PAGE_SIZE), after))
}

pub fn new_order(req: &pb::CreateOrderRequest, now: DateTime<Utc>) -> Result<NewOrder, Error> {
    let mut v = Violations::new();
    let id = v.uuid("order_id", &req.order_id);
    let user_id = v.uuid("user_id", &req.user_id);
    let lines = line_requests(&mut v, &req.lines);
    let expires_at = match req.expires_at.as_ref().map(from_timestamp) {
        None => {
            v.add("expires_at", "is required");
            None
        }
        Some(None) => {
            v.add("expires_at", "is not a valid time");
            None
        }
        Some(Some(at)) if at <= now => {
            v.add("expires_at", "must be in the future");
            None
        }
        Some(at) => at,
    };
    finish(v)?;
    Ok(NewOrder {
        id: OrderId(id.checked("order_id")?),
        user_id: UserId(user_id.checked("user_id")?),
        lines,
        expires_at: expires_at.checked("expires_at")?,
    })
}

/// A CheckStock request: the lines to look at.
pub fn stock_check(req: &pb::CheckStockRequest) -> Result<Vec<LineRequest>, Error> {
    let mut v = Violations::new();
    let lines = line_requests(&mut v, &req.lines);
    finish(v)?;
    Ok(lines)
}

/// Validates order lines (1 to [`MAX_LINES`], quantities 1 to [`MAX_QUANTITY`], UUID
/// product ids) into `v`, returning the well-formed ones.
fn line_requests(v: &mut Violations, lines: &[pbc::OrderLine]) -> Vec<LineRequest> {
    if lines.is_empty() {
        v.add("lines", "must have at least one line");
    } else if lines.len() > MAX_LINES {
        v.add("lines", format!("must have at most {MAX_LINES} lines"));
    }
    let mut valid = Vec::with_capacity(lines.len().min(MAX_LINES));
    for (i, line) in lines.iter().enumerate().take(MAX_LINES) {
        let product_id = v.uuid(format!("lines[{i}].product_id"), &line.product_id);
        v.check(
            (1..=MAX_QUANTITY).contains(&line.quantity),
            format!("lines[{i}].quantity"),
            format!("must be between 1 and {MAX_QUANTITY}"),
        );
        if let Some(product_id) = product_id {
            valid.push(LineRequest {
                product_id: ProductId(product_id),
                quantity: line.quantity,
            });
        }
    }
    valid
}

pub fn mark_paid(req: &pb::MarkPaidRequest) -> Result<(OrderId, Command), Error> {
    let mut v = Violations::new();
    let order = v.uuid("order_id", &req.order_id);
    let saga = v.uuid("saga_id", &req.saga_id);
    let payment_id = v.uuid("payment_id", &req.payment_id);
    v.check(
        req.discount_amount >= 0,
        "discount_amount",
        "must not be negative",
    );
    v.check(req.paid_amount >= 0, "paid_amount", "must not be negative");
    finish(v)?;
    let payment = PaymentRecord {
        payment_id: PaymentId(payment_id.checked("payment_id")?),
        discount_amount: req.discount_amount,
        paid_amount: req.paid_amount,
    };
    Ok((
        OrderId(order.checked("order_id")?),
        Command::MarkPaid {
            saga: SagaId(saga.checked("saga_id")?),
            payment,
        },
    ))
}

pub fn expire(req: &pb::ExpireOrderRequest) -> Result<(OrderId, Command), Error> {
    let mut v = Violations::new();
    let order = v.uuid("order_id", &req.order_id);
    let saga = v.optional_uuid("saga_id", &req.saga_id).map(SagaId);
    finish(v)?;
    let order = OrderId(order.checked("order_id")?);
    Ok((order, Command::Expire { saga }))
}

pub fn status(status: OrderStatus) -> pbc::OrderStatus {
    match status {
        OrderStatus::PendingPayment => pbc::OrderStatus::PendingPayment,
        OrderStatus::PaymentInProgress => pbc::OrderStatus::PaymentInProgress,
        OrderStatus::Paid => pbc::OrderStatus::Paid,
        OrderStatus::Received => pbc::OrderStatus::Received,
        OrderStatus::Cancelled => pbc::OrderStatus::Cancelled,
        OrderStatus::Expired => pbc::OrderStatus::Expired,
        OrderStatus::Failed => pbc::OrderStatus::Failed,
    }
}

pub fn product(p: Product) -> pbc::Product {
    pbc::Product {
        id: p.id.to_string(),
        name: p.name,
        price: p.price,
        stock: p.stock,
        created_at: Some(to_timestamp(p.created_at)),
    }
}

pub fn order(o: Order) -> pb::Order {
    fn text(id: Option<impl ToString>) -> String {
        id.map(|id| id.to_string()).unwrap_or_default()
    }
    pb::Order {
        id: o.id.to_string(),
        user_id: o.user_id.to_string(),
        status: status(o.status).into(),
        lines: o
            .lines
            .into_iter()
            .map(|l| pbc::OrderLine {
                product_id: l.product_id.to_string(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                name: l.name,
            })
            .collect(),
        total_amount: o.total_amount,
        discount_amount: o.discount_amount,
        paid_amount: o.paid_amount,
        created_at: Some(to_timestamp(o.created_at)),
        expires_at: Some(to_timestamp(o.expires_at)),
        updated_at: Some(to_timestamp(o.updated_at)),
        payment_id: text(o.payment_id),
        saga_id: text(o.saga_id),
        last_error: o.last_error.unwrap_or_default(),
        cancel_reason: o.cancel_reason.unwrap_or_default(),
    }
}

pub fn event(row: EventRow) -> Result<pb::OrderEvent, Error> {
    let parsed = OrderStatus::parse(&row.status).ok_or_else(|| {
        Error::internal(
            "unknown status in the outbox",
            anyhow::anyhow!("event {} has status {:?}", row.offset, row.status),
        )
    })?;
    Ok(pb::OrderEvent {
        offset: row.offset,
        event_id: row.event_id.to_string(),
        order_id: row.order_id.to_string(),
        kind: row.kind,
        status: status(parsed).into(),
        occurred_at: Some(to_timestamp(row.occurred_at)),
        user_id: row.user_id.to_string(),
        total_amount: row.total_amount,
        discount_amount: row.discount_amount,
        paid_amount: row.paid_amount,
    })
}
