//! Wallet balances: reading, crediting, and the conditional debit.

use sqlx::PgConnection;

use crate::domain::UserId;

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
