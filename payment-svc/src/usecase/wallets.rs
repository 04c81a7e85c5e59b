//! Wallets: a top-up (once per idempotency key, its ledger entry in the same
//! transaction) and the wallet as GetWallet shows it (balance and coupons).

use shop_common::db;
use sqlx::PgPool;

use crate::{
    domain::{LedgerKind, TopUp, UserId, Wallet},
    error::Error,
    store::{
        coupons,
        ledger::{self, NewEntry},
        wallets::{balance, credit},
    },
};
use shop_common::internal::InternalError;

/// The balance and every coupon of `user`.
pub async fn wallet(pool: &PgPool, user: UserId) -> Result<Wallet, Error> {
    let mut conn = pool.acquire().await?;
    let balance = balance(&mut conn, user).await?;
    let coupons = coupons::of_user(&mut conn, user).await?;
    Ok(Wallet {
        user_id: user,
        balance,
        coupons,
    })
}

/// Adds the points of a top-up once. With an idempotency key, a repeat with the same
/// amount adds nothing, and a different amount is refused.
pub async fn top_up(pool: &PgPool, top_up: &TopUp) -> Result<(), Error> {
    let key = top_up.idempotency_key.as_ref();
    if let Some(key) = key {
        let mut conn = pool.acquire().await?;
        if let Some(first) = ledger::top_up_by_key(&mut conn, top_up.user_id, key).await? {
            return same_amount(first, top_up.amount);
        }
    }

    let mut tx = pool.begin().await?;
    let balance = credit(&mut tx, top_up.user_id, top_up.amount).await?;
    let entry = NewEntry {
        user_id: top_up.user_id,
        kind: LedgerKind::TopUp,
        amount: top_up.amount,
        order_id: None,
        payment_id: None,
        balance_after: balance,
        idempotency_key: key,
    };
    match ledger::insert(&mut tx, &entry).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(())
        }
        // A concurrent request with the same key committed first: ours adds nothing.
        Err(err) if db::unique_violation(&err) == Some(ledger::KEY_INDEX) => {
            tx.rollback().await?;
            let mut conn = pool.acquire().await?;
            let first = match key {
                Some(key) => ledger::top_up_by_key(&mut conn, top_up.user_id, key).await?,
                None => None,
            };
            let first = first.ok_or_else(|| {
                Error::internal(
                    "inconsistent data",
                    anyhow::anyhow!("idempotency key conflict without a ledger row"),
                )
            })?;
            same_amount(first, top_up.amount)
        }
        Err(err) => Err(err.into()),
    }
}

fn same_amount(first: i64, requested: i64) -> Result<(), Error> {
    if first == requested {
        Ok(())
    } else {
        Err(Error::IdempotencyKeyReused { first, requested })
    }
}
