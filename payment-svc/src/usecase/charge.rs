//! Charge, the pivot of the pay saga: fence, coupon, points, payment and ledger in
//! one transaction. Any refusal rolls everything back, so it changes nothing.

use chrono::Utc;
use sqlx::PgPool;

use crate::{
    domain::{ChargeCommand, LedgerKind, Payment, PaymentId, PaymentStatus, Quote},
    error::Error,
    store::{
        coupons,
        fences::{self, Fence},
        ledger::{self, NewEntry},
        payments, wallets,
    },
};
use shop_common::internal::InternalError;

/// Charges the order once for its saga; a repeat returns the first payment.
/// Counted as `shop_payment_charges_total{outcome}` (charged, or the refusal) and
/// `shop_payment_charged_points_total` (points taken from wallets).
#[tracing::instrument(name = "charge", skip_all, fields(order_id = %cmd.order_id, saga_id = %cmd.saga_id))]
pub async fn charge(pool: &PgPool, cmd: &ChargeCommand) -> Result<Payment, Error> {
    let result = charge_once(pool, cmd).await;
    if let Err(err) = &result {
        let outcome = match err {
            Error::InsufficientPoints { .. } => "insufficient_points",
            Error::CouponInvalid { .. } => "coupon_invalid",
            Error::SagaCompensated { .. } => "compensated",
            Error::AlreadyCharged { .. } => "already_charged",
            _ => "failed",
        };
        metrics::counter!("shop_payment_charges_total", "outcome" => outcome).increment(1);
    }
    result
}

async fn charge_once(pool: &PgPool, cmd: &ChargeCommand) -> Result<Payment, Error> {
    let mut tx = pool.begin().await?;
    let (fence, recorded) =
        fences::record(&mut tx, cmd.order_id, cmd.saga_id, Fence::Charge, None).await?;
    if !recorded {
        // Dropping `tx` rolls back: a repeat or a refused charge writes nothing.
        return match fence {
            Fence::Tombstone => Err(compensated(cmd)),
            Fence::Charge => repeat(&mut tx, cmd).await,
        };
    }
    if payments::charged_by_other_saga(&mut tx, cmd.order_id, cmd.saga_id).await? {
        return Err(Error::AlreadyCharged {
            order_id: cmd.order_id,
        });
    }

    let now = Utc::now();
    let discount = match cmd.coupon_id {
        Some(coupon) => {
            Some(coupons::claim(&mut tx, coupon, cmd.user_id, cmd.order_id, cmd.amount, now).await?)
        }
        None => None,
    };
    let quote = Quote::new(cmd.amount, discount);

    // A coupon covering everything needs no wallet and moves no points.
    let balance_after = if quote.due > 0 {
        match wallets::debit(&mut tx, cmd.user_id, quote.due).await? {
            Some(balance) => Some(balance),
            None => {
                let balance = wallets::balance(&mut tx, cmd.user_id).await?;
                return Err(Error::InsufficientPoints {
                    balance,
                    due: quote.due,
                });
            }
        }
    } else {
        None
    };

    let payment = payments::insert_charged(
        &mut tx,
        &Payment {
            id: PaymentId::generate(),
            order_id: cmd.order_id,
            saga_id: cmd.saga_id,
            user_id: cmd.user_id,
            status: PaymentStatus::Charged,
            amount: quote.amount,
            discount_amount: quote.discount,
            paid_amount: quote.due,
            coupon_id: cmd.coupon_id,
            created_at: now,
            refunded_at: None,
        },
    )
    .await?;
    if let Some(balance_after) = balance_after {
        let entry = NewEntry {
            user_id: cmd.user_id,
            kind: LedgerKind::Charge,
            amount: -quote.due,
            order_id: Some(cmd.order_id),
            payment_id: Some(payment.id),
            balance_after,
            idempotency_key: None,
        };
        ledger::insert(&mut tx, &entry).await?;
    }
    tx.commit().await?;
    metrics::counter!("shop_payment_charges_total", "outcome" => "charged").increment(1);
    metrics::counter!("shop_payment_charged_points_total").increment(quote.due.max(0) as u64);
    tracing::info!(
        order_id = %cmd.order_id,
        saga_id = %cmd.saga_id,
        payment_id = %payment.id,
        paid = quote.due,
        discount = quote.discount,
        "charged"
    );
    Ok(payment)
}

/// The saga charged before: the first payment if it still stands, else the charge
/// was refunded and this late repeat must not charge again.
async fn repeat(tx: &mut sqlx::PgConnection, cmd: &ChargeCommand) -> Result<Payment, Error> {
    let payment = payments::of_saga(tx, cmd.order_id, cmd.saga_id)
        .await?
        .ok_or_else(|| {
            Error::internal(
                "inconsistent data",
                anyhow::anyhow!("charge fence without a payment"),
            )
        })?;
    match payment.status {
        PaymentStatus::Charged => Ok(payment),
        PaymentStatus::Refunded => Err(compensated(cmd)),
    }
}

fn compensated(cmd: &ChargeCommand) -> Error {
    Error::SagaCompensated {
        order_id: cmd.order_id,
        saga_id: cmd.saga_id,
    }
}
