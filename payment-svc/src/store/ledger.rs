//! The ledger: one row per balance change, never updated.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{IdempotencyKey, LedgerEntry, LedgerKind, OrderId, PaymentId, UserId},
    error::Error,
};
use shop_common::internal::InternalError;

/// The unique index that makes a keyed top-up happen once.
pub const KEY_INDEX: &str = "ledger_user_idempotency_key";

pub struct NewEntry<'a> {
    pub user_id: UserId,
    pub kind: LedgerKind,
    pub amount: i64,
    pub order_id: Option<OrderId>,
    pub payment_id: Option<PaymentId>,
    pub balance_after: i64,
    pub idempotency_key: Option<&'a IdempotencyKey>,
}

pub async fn insert(conn: &mut PgConnection, entry: &NewEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ledger
            (user_id, kind, amount, order_id, payment_id, balance_after, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.user_id.0)
    .bind(entry.kind.as_str())
    .bind(entry.amount)
    .bind(entry.order_id.map(|o| o.0))
    .bind(entry.payment_id.map(|p| p.0))
    .bind(entry.balance_after)
    .bind(entry.idempotency_key.map(IdempotencyKey::as_str))
    .execute(conn)
    .await?;
    Ok(())
}

/// The amount of the top-up that used `key`, if one did.
pub async fn top_up_by_key(
    conn: &mut PgConnection,
    user: UserId,
    key: &IdempotencyKey,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT amount FROM ledger WHERE user_id = $1 AND idempotency_key = $2")
        .bind(user.0)
        .bind(key.as_str())
        .fetch_optional(conn)
        .await
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    user_id: Uuid,
    kind: String,
    amount: i64,
    order_id: Option<Uuid>,
    balance_after: i64,
    created_at: DateTime<Utc>,
}

/// The newest `limit` entries of `user`, newest first.
pub async fn newest(
    conn: &mut PgConnection,
    user: UserId,
    limit: i64,
) -> Result<Vec<LedgerEntry>, Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, user_id, kind, amount, order_id, balance_after, created_at
         FROM ledger WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(user.0)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let kind = LedgerKind::parse(&row.kind).ok_or_else(|| {
                Error::internal(
                    "inconsistent data",
                    anyhow::anyhow!("ledger kind {:?}", row.kind),
                )
            })?;
            Ok(LedgerEntry {
                id: row.id,
                user_id: UserId(row.user_id),
                kind,
                amount: row.amount,
                order_id: row.order_id.map(OrderId),
                balance_after: row.balance_after,
                created_at: row.created_at,
            })
        })
        .collect()
}
