//! ReserveStock and ReleaseStock: the stock movements of the pay saga and their fence
//! (`stock_reservations`, one row per order and saga, in the same transaction); and
//! CheckStock, the read-only look before a saga.

use std::collections::BTreeMap;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    domain::{OrderId, OrderStatus, ProductId, SagaId, lifecycle, order::LineRequest},
    error::Error,
};

/// Whether the stock of every line is there now (lines of one product count together).
/// A read: nothing is taken, so a later ReserveStock may still find it gone. Counted
/// as `shop_stock_checks_total{outcome}` (available, out_of_stock).
pub async fn check(pool: &PgPool, lines: &[LineRequest]) -> Result<(), Error> {
    let result = check_now(pool, lines).await;
    count("shop_stock_checks_total", &result, "available");
    result
}

/// `name{outcome}`: `ok` on success, out_of_stock for that refusal, else failed.
fn count<T>(name: &'static str, result: &Result<T, Error>, ok: &'static str) {
    let outcome = match result {
        Ok(_) => ok,
        Err(Error::OutOfStock(_)) => "out_of_stock",
        Err(_) => "failed",
    };
    metrics::counter!(name, "outcome" => outcome).increment(1);
}

async fn check_now(pool: &PgPool, lines: &[LineRequest]) -> Result<(), Error> {
    let mut wanted: BTreeMap<ProductId, i64> = BTreeMap::new();
    for line in lines {
        *wanted.entry(line.product_id).or_default() += i64::from(line.quantity);
    }
    let ids: Vec<Uuid> = wanted.keys().map(|id| id.0).collect();
    let found: Vec<(Uuid, String, i32)> =
        sqlx::query_as("SELECT id, name, stock FROM products WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(pool)
            .await?;
    for (product_id, quantity) in wanted {
        match found.iter().find(|(id, ..)| *id == product_id.0) {
            None => return Err(Error::ProductNotFound(product_id)),
            Some((_, name, stock)) if i64::from(*stock) < quantity => {
                return Err(out_of_stock(product_id, name, *stock, quantity));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Takes the stock of every line of the order for `saga`, all or nothing.
/// A repeat after success is a success; a reserve after the release is refused.
/// Counted as `shop_stock_reservations_total{outcome}` (reserved, out_of_stock, failed).
#[tracing::instrument(name = "reserve_stock", skip_all, fields(%order_id, saga_id = %saga))]
pub async fn reserve(pool: &PgPool, order_id: OrderId, saga: SagaId) -> Result<(), Error> {
    let result = reserve_once(pool, order_id, saga).await;
    count("shop_stock_reservations_total", &result, "reserved");
    result
}

async fn reserve_once(pool: &PgPool, order_id: OrderId, saga: SagaId) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    // FOR SHARE keeps the order's status fixed until we commit.
    let order: Option<(String, Option<Uuid>)> =
        sqlx::query_as("SELECT status, saga_id FROM orders WHERE id = $1 FOR SHARE")
            .bind(order_id.0)
            .fetch_optional(&mut *tx)
            .await?;
    let (status, holder) = order.ok_or(Error::OrderNotFound(order_id))?;

    // Claiming the fence first makes a concurrent reserve or release of the same
    // saga wait for us, then see our row.
    let claimed: Option<i32> = sqlx::query_scalar(
        "INSERT INTO stock_reservations (order_id, saga_id, state, reserved_at)
         VALUES ($1, $2, 'RESERVED', now())
         ON CONFLICT (order_id, saga_id) DO NOTHING RETURNING 1",
    )
    .bind(order_id.0)
    .bind(saga.0)
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        return match fence_state(&mut tx, order_id, saga).await?.as_deref() {
            Some("RESERVED") => Ok(()),
            _ => Err(Error::ReservationReleased {
                order_id,
                saga_id: saga,
            }),
        };
    }
    let status = OrderStatus::parse(&status)
        .ok_or_else(|| Error::internal("unknown order status", anyhow::anyhow!("{status:?}")))?;
    lifecycle::may_reserve(status, holder.map(SagaId), saga)?;

    for (product_id, quantity) in quantities(&mut tx, order_id).await? {
        let taken: Option<i32> = sqlx::query_scalar(
            "UPDATE products SET stock = stock - $2, updated_at = now()
             WHERE id = $1 AND stock >= $2 RETURNING stock",
        )
        .bind(product_id.0)
        .bind(quantity)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_none() {
            // Roll back every line taken so far before explaining.
            drop(tx);
            return Err(shortage(pool, product_id, quantity).await);
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Puts back what `reserve` took for `saga`, once. Returns whether this call did it.
/// Before any reserve it leaves a RELEASED tombstone, which refuses a late reserve.
#[tracing::instrument(name = "release_stock", skip_all, fields(%order_id, saga_id = %saga))]
pub async fn release(pool: &PgPool, order_id: OrderId, saga: SagaId) -> Result<bool, Error> {
    let mut tx = pool.begin().await?;
    let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM orders WHERE id = $1")
        .bind(order_id.0)
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_none() {
        return Err(Error::OrderNotFound(order_id));
    }
    let tombstone: Option<i32> = sqlx::query_scalar(
        "INSERT INTO stock_reservations (order_id, saga_id, state, released_at)
         VALUES ($1, $2, 'RELEASED', now())
         ON CONFLICT (order_id, saga_id) DO NOTHING RETURNING 1",
    )
    .bind(order_id.0)
    .bind(saga.0)
    .fetch_optional(&mut *tx)
    .await?;
    if tombstone.is_some() {
        tx.commit().await?;
        return Ok(false);
    }
    let flipped: Option<i32> = sqlx::query_scalar(
        "UPDATE stock_reservations SET state = 'RELEASED', released_at = now()
         WHERE order_id = $1 AND saga_id = $2 AND state = 'RESERVED' RETURNING 1",
    )
    .bind(order_id.0)
    .bind(saga.0)
    .fetch_optional(&mut *tx)
    .await?;
    if flipped.is_none() {
        return Ok(false);
    }
    for (product_id, quantity) in quantities(&mut tx, order_id).await? {
        sqlx::query("UPDATE products SET stock = stock + $2, updated_at = now() WHERE id = $1")
            .bind(product_id.0)
            .bind(quantity)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    metrics::counter!("shop_stock_releases_total").increment(1);
    Ok(true)
}

/// Quantity per product over all lines, in product-id order: every transaction takes
/// product rows in the same order, so two reserves cannot deadlock.
async fn quantities(
    conn: &mut PgConnection,
    order_id: OrderId,
) -> Result<Vec<(ProductId, i32)>, Error> {
    let rows: Vec<(Uuid, i32)> = sqlx::query_as(
        "SELECT product_id, sum(quantity)::integer FROM order_lines
         WHERE order_id = $1 GROUP BY product_id ORDER BY product_id",
    )
    .bind(order_id.0)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id, n)| (ProductId(id), n)).collect())
}

async fn fence_state(
    conn: &mut PgConnection,
    order_id: OrderId,
    saga: SagaId,
) -> Result<Option<String>, Error> {
    let state = sqlx::query_scalar(
        "SELECT state FROM stock_reservations WHERE order_id = $1 AND saga_id = $2",
    )
    .bind(order_id.0)
    .bind(saga.0)
    .fetch_optional(conn)
    .await?;
    Ok(state)
}

/// OUT_OF_STOCK naming the product that is short.
async fn shortage(pool: &PgPool, product_id: ProductId, wanted: i32) -> Error {
    let found: Result<Option<(String, i32)>, sqlx::Error> =
        sqlx::query_as("SELECT name, stock FROM products WHERE id = $1")
            .bind(product_id.0)
            .fetch_optional(pool)
            .await;
    match found {
        Ok(Some((name, stock))) => out_of_stock(product_id, &name, stock, wanted.into()),
        Ok(None) => Error::OutOfStock(format!("product {product_id} is out of stock")),
        Err(err) => err.into(),
    }
}

fn out_of_stock(product_id: ProductId, name: &str, stock: i32, wanted: i64) -> Error {
    Error::OutOfStock(format!(
        "product {product_id} ({name}) is out of stock: {stock} left, {wanted} wanted"
    ))
}
