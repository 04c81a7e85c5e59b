//! Wallet balances: reading, crediting, the conditional debit, and top-ups.

use shop_common::db;
use sqlx::{PgConnection, PgPool};

use super::ledger::{self, NewEntry};
use crate::{
    domain::{LedgerKind, TopUp, UserId},
    error::Error,
};

/// The balance of `user`; 0 when they have no wallet yet.
pub async fn balance(conn: &mut PgConnection, user: UserId) -> Result<i64, sqlx::Error> {
    let balance: Option<i64> = sqlx::query_scalar("SELECT balance FROM wallets WHERE user_id = $1")
        .bind(user.0)
        .fetch_optional(conn)
        .await?;
    Ok(balance.unwrap_or(0))
}

/// Adds `amount` (creating the wallet if needed) and returns the new balance.
pub async fn credit(
    conn: &mut PgConnection,
    user: UserId,
    amount: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO wallets (user_id, balance) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE
            SET balance = wallets.balance + EXCLUDED.balance, updated_at = now()
         RETURNING balance",
    )
    .bind(user.0)
    .bind(amount)
    .fetch_one(conn)
    .await
}

/// Takes `due` points if the balance covers them, in one statement so concurrent
/// charges can never drive it below zero. `None` when it does not (or no wallet).
pub async fn debit(
    conn: &mut PgConnection,
    user: UserId,
    due: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE wallets SET balance = balance - $2, updated_at = now()
         WHERE user_id = $1 AND balance >= $2
         RETURNING balance",
    )
    .bind(user.0)
    .bind(due)
    .fetch_optional(conn)
    .await
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
