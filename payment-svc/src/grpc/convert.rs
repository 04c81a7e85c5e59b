//! Proto <-> domain: every request is validated here (all violations at once, as
//! INVALID_ARGUMENT / VALIDATION_FAILED) before anything touches the database.

use chrono::Utc;
use shop_common::{
    checked::{self, Checked},
    time,
    validate::Violations,
};
use shop_proto::{
    common as pb,
    payment::{self as api, issue_coupon_request::Discount as PbDiscount},
};

use crate::{
    domain::{
        ChargeCommand, Coupon, CouponId, Discount, IdempotencyKey, LedgerEntry, NewCoupon, OrderId,
        Payment, PaymentStatus, RefundCommand, SagaId, TopUp, UserId, Wallet, coupon, payment,
        wallet,
    },
    error::Error,
};

/// Entries returned by ListLedger when `page_size` is 0, and the most it returns.
pub const DEFAULT_LEDGER_PAGE: i64 = 100;
pub const MAX_LEDGER_PAGE: i32 = 1000;

/// Adds `field`'s problem, if any, and returns the value when it is valid.
fn field<T>(v: &mut Violations, name: &str, parsed: Result<T, String>) -> Option<T> {
    parsed.map_err(|problem| v.add(name, problem)).ok()
}

/// Every violation found, as INVALID_ARGUMENT / VALIDATION_FAILED.
fn finish(v: Violations) -> Result<(), Error> {
    checked::finish(v).map_err(Error::Invalid)
}

/// A request whose only field is a user id.
pub fn user_id(raw: &str) -> Result<UserId, Error> {
    let mut v = Violations::new();
    let user = v.uuid("user_id", raw);
    finish(v)?;
    Ok(UserId(user.checked("user_id")?))
}

pub fn top_up(req: &api::TopUpRequest) -> Result<TopUp, Error> {
    let mut v = Violations::new();
    let user = v.uuid("user_id", &req.user_id);
    let amount = field(&mut v, "amount", wallet::top_up_amount(req.amount));
    let key = field(
        &mut v,
        "idempotency_key",
        IdempotencyKey::parse(&req.idempotency_key),
    );
    finish(v)?;
    Ok(TopUp {
        user_id: UserId(user.checked("user_id")?),
        amount: amount.checked("amount")?,
        idempotency_key: key.checked("idempotency_key")?,
    })
}

pub fn new_coupon(req: &api::IssueCouponRequest) -> Result<NewCoupon, Error> {
    let mut v = Violations::new();
    let user = v.uuid("user_id", &req.user_id);
    let discount = match req.discount {
        Some(PbDiscount::DiscountAmount(points)) => {
            field(&mut v, "discount_amount", Discount::fixed(points))
        }
        Some(PbDiscount::DiscountPercent(percent)) => {
            field(&mut v, "discount_percent", Discount::percent(percent))
        }
        None => {
            v.add(
                "discount",
                "exactly one of discount_amount or discount_percent is required",
            );
            None
        }
    };
    let min_order_amount = field(
        &mut v,
        "min_order_amount",
        coupon::min_order_amount(req.min_order_amount),
    );
    let expires_at = match req.expires_at.as_ref().map(time::from_timestamp) {
        None => {
            v.add("expires_at", "is required");
            None
        }
        Some(None) => {
            v.add("expires_at", "is not a valid time");
            None
        }
        Some(Some(at)) if at <= Utc::now() => {
            v.add("expires_at", "must be in the future");
            None
        }
        Some(Some(at)) => Some(at),
    };
    let key = field(
        &mut v,
        "request_key",
        IdempotencyKey::parse(&req.request_key),
    );
    finish(v)?;
    Ok(NewCoupon {
        id: CouponId::generate(),
        user_id: UserId(user.checked("user_id")?),
        discount: discount.checked("discount")?,
        min_order_amount: min_order_amount.checked("min_order_amount")?,
        expires_at: expires_at.checked("expires_at")?,
        request_key: key.checked("request_key")?,
    })
}

pub fn charge(req: &api::ChargeRequest) -> Result<ChargeCommand, Error> {
    let mut v = Violations::new();
    let order = v.uuid("order_id", &req.order_id);
    let saga = v.uuid("saga_id", &req.saga_id);
    let user = v.uuid("user_id", &req.user_id);
    let amount = field(&mut v, "amount", payment::charge_amount(req.amount));
    let coupon = v.optional_uuid("coupon_id", &req.coupon_id);
    finish(v)?;
    Ok(ChargeCommand {
        order_id: OrderId(order.checked("order_id")?),
        saga_id: SagaId(saga.checked("saga_id")?),
        user_id: UserId(user.checked("user_id")?),
        amount: amount.checked("amount")?,
        coupon_id: coupon.map(CouponId),
    })
}

pub fn refund(req: &api::RefundRequest) -> Result<RefundCommand, Error> {
    let mut v = Violations::new();
    let order = v.uuid("order_id", &req.order_id);
    let saga = v.uuid("saga_id", &req.saga_id);
    finish(v)?;
    Ok(RefundCommand::new(
        OrderId(order.checked("order_id")?),
        SagaId(saga.checked("saga_id")?),
        &req.reason,
    ))
}

pub fn order_id(raw: &str) -> Result<OrderId, Error> {
    let mut v = Violations::new();
    let order = v.uuid("order_id", raw);
    finish(v)?;
    Ok(OrderId(order.checked("order_id")?))
}

/// The user and page size of a ListLedger request.
pub fn ledger_query(req: &api::ListLedgerRequest) -> Result<(UserId, i64), Error> {
    let mut v = Violations::new();
    let user = v.uuid("user_id", &req.user_id);
    v.check(
        (0..=MAX_LEDGER_PAGE).contains(&req.page_size),
        "page_size",
        format!("must be between 0 (default) and {MAX_LEDGER_PAGE}"),
    );
    finish(v)?;
    let limit = if req.page_size == 0 {
        DEFAULT_LEDGER_PAGE
    } else {
        i64::from(req.page_size)
    };
    Ok((UserId(user.checked("user_id")?), limit))
}

pub fn wallet_to_pb(wallet: Wallet) -> pb::Wallet {
    pb::Wallet {
        user_id: wallet.user_id.to_string(),
        balance: wallet.balance,
        coupons: wallet.coupons.into_iter().map(coupon_to_pb).collect(),
    }
}

pub fn coupon_to_pb(coupon: Coupon) -> pb::Coupon {
    let (discount_amount, discount_percent) = match coupon.discount {
        Discount::Fixed(points) => (points, 0),
        Discount::Percent(percent) => (0, percent),
    };
    pb::Coupon {
        id: coupon.id.to_string(),
        user_id: coupon.user_id.to_string(),
        discount_amount,
        discount_percent,
        min_order_amount: coupon.min_order_amount,
        expires_at: Some(time::to_timestamp(coupon.expires_at)),
        used_order_id: coupon
            .used_order_id
            .map(|o| o.to_string())
            .unwrap_or_default(),
        created_at: Some(time::to_timestamp(coupon.created_at)),
    }
}

pub fn payment_to_pb(payment: Payment) -> pb::Payment {
    let status = match payment.status {
        PaymentStatus::Charged => pb::PaymentStatus::Charged,
        PaymentStatus::Refunded => pb::PaymentStatus::Refunded,
    };
    pb::Payment {
        id: payment.id.to_string(),
        order_id: payment.order_id.to_string(),
        user_id: payment.user_id.to_string(),
        status: status.into(),
        amount: payment.amount,
        discount_amount: payment.discount_amount,
        paid_amount: payment.paid_amount,
        coupon_id: payment.coupon_id.map(|c| c.to_string()).unwrap_or_default(),
        saga_id: payment.saga_id.to_string(),
        created_at: Some(time::to_timestamp(payment.created_at)),
        refunded_at: time::opt_timestamp(payment.refunded_at),
    }
}

pub fn ledger_entry_to_pb(entry: LedgerEntry) -> api::LedgerEntry {
    api::LedgerEntry {
        id: entry.id,
        user_id: entry.user_id.to_string(),
        kind: entry.kind.as_str().to_owned(),
        amount: entry.amount,
        order_id: entry.order_id.map(|o| o.to_string()).unwrap_or_default(),
        balance_after: entry.balance_after,
        created_at: Some(time::to_timestamp(entry.created_at)),
    }
}
