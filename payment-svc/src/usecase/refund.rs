//! Refund, the compensation of Charge: payment REFUNDED, points back, coupon freed,
//! in one transaction. Before any charge it records a tombstone instead.

use sqlx::PgPool;

use crate::{
    domain::{LedgerKind, RefundCommand, RefundOutcome},
    error::Error,
    store::{
        coupons,
        fences::{self, Fence},
        ledger::{self, NewEntry},
        payments, wallets,
    },
};
use shop_common::internal::InternalError;

/// Counted as `shop_payment_refunds_total` and `shop_payment_refunded_points_total`
/// when points actually go back.
#[tracing::instrument(name = "refund", skip_all, fields(order_id = %cmd.order_id, saga_id = %cmd.saga_id))]
pub async fn refund(pool: &PgPool, cmd: &RefundCommand) -> Result<RefundOutcome, Error> {
    let mut tx = pool.begin().await?;
    let (fence, recorded) = fences::record(
        &mut tx,
        cmd.order_id,
        cmd.saga_id,
        Fence::Tombstone,
        Some(&cmd.reason),
    )
    .await?;
    match (fence, recorded) {
        (Fence::Tombstone, true) => {
            tx.commit().await?;
            tracing::info!(
                order_id = %cmd.order_id,
                saga_id = %cmd.saga_id,
                "refund before any charge: tombstone recorded"
            );
            return Ok(RefundOutcome::Tombstone);
        }
        (Fence::Tombstone, false) => return Ok(RefundOutcome::Tombstone),
        (Fence::Charge, _) => {}
    }

    let Some(payment) =
        payments::mark_refunded(&mut tx, cmd.order_id, cmd.saga_id, &cmd.reason).await?
    else {
        let payment = payments::of_saga(&mut tx, cmd.order_id, cmd.saga_id)
            .await?
            .ok_or_else(|| {
                Error::internal(
                    "inconsistent data",
                    anyhow::anyhow!("charge fence without a payment"),
                )
            })?;
        return Ok(RefundOutcome::AlreadyRefunded(payment));
    };
    // Coupon before wallet: the same lock order as Charge, so the two cannot deadlock.
    if let Some(coupon) = payment.coupon_id {
        coupons::release(&mut tx, coupon, payment.order_id).await?;
    }
    if payment.paid_amount > 0 {
        let balance_after = wallets::credit(&mut tx, payment.user_id, payment.paid_amount).await?;
        let entry = NewEntry {
            user_id: payment.user_id,
            kind: LedgerKind::Refund,
            amount: payment.paid_amount,
            order_id: Some(payment.order_id),
            payment_id: Some(payment.id),
            balance_after,
            idempotency_key: None,
        };
        ledger::insert(&mut tx, &entry).await?;
    }
    tx.commit().await?;
    metrics::counter!("shop_payment_refunds_total").increment(1);
    metrics::counter!("shop_payment_refunded_points_total")
        .increment(payment.paid_amount.max(0) as u64);
    tracing::info!(
        order_id = %cmd.order_id,
        saga_id = %cmd.saga_id,
        payment_id = %payment.id,
        returned = payment.paid_amount,
        "refunded"
    );
    Ok(RefundOutcome::Refunded(payment))
}
