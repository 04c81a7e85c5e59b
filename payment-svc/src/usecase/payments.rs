//! Reading payments and the ledger: GetPayment and ListLedger.

use sqlx::PgPool;

use crate::{
    domain::{LedgerEntry, OrderId, Payment, UserId},
    error::Error,
    store::{ledger, payments},
};

/// The payment of `order` that stands (charged, or refunded if that is the last).
pub async fn of_order(pool: &PgPool, order: OrderId) -> Result<Payment, Error> {
    let mut conn = pool.acquire().await?;
    payments::current_of_order(&mut conn, order)
        .await?
        .ok_or(Error::PaymentNotFound(order))
}

/// The newest `limit` ledger entries of `user`.
pub async fn ledger(pool: &PgPool, user: UserId, limit: i64) -> Result<Vec<LedgerEntry>, Error> {
    let mut conn = pool.acquire().await?;
    ledger::newest(&mut conn, user, limit).await
}
