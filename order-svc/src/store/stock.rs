//! The SQL of stock movements: the reservation fence (`stock_reservations`, one row
//! per order and saga), the conditional take and the put-back of product stock, and
//! the reads CheckStock and OUT_OF_STOCK explanations need.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    domain::{OrderId, OrderStatus, ProductId, SagaId},
    error::Error,
};
use shop_common::internal::InternalError;

/// What [`claim_reservation`] found: the order's status and saga, fixed until the
/// caller commits, and whether this call claimed the saga's fence row.
pub struct Claimed {
    pub status: OrderStatus,
    pub holder: Option<SagaId>,
    pub claimed: bool,
}

/// Takes the order `FOR SHARE` and claims the saga's RESERVED fence row, in one round
/// trip; `None` when there is no such order. `claimed` is false when the saga has a
/// fence row already (read it with [`fence_state`], in a statement of its own so that
/// it sees a concurrent claim it waited for). Claiming first makes a concurrent
/// reserve or release of the same saga wait, then see it.
pub async fn claim_reservation(
    conn: &mut PgConnection,
    order_id: OrderId,
    saga: SagaId,
) -> Result<Option<Claimed>, Error> {
    let found: Option<(String, Option<Uuid>, bool)> = sqlx::query_as(
        "WITH o AS MATERIALIZED (SELECT status, saga_id FROM orders WHERE id = $1 FOR SHARE),
              claim AS (
                  INSERT INTO stock_reservations (order_id, saga_id, state, reserved_at)
                  SELECT $1, $2, 'RESERVED', now() FROM o
                  ON CONFLICT (order_id, saga_id) DO NOTHING RETURNING 1)
         SELECT o.status, o.saga_id, EXISTS (SELECT 1 FROM claim) FROM o",
    )
    .bind(order_id.0)
    .bind(saga.0)
    .fetch_optional(conn)
    .await?;
    found
        .map(|(status, holder, claimed)| {
            let status = OrderStatus::parse(&status).ok_or_else(|| {
                Error::internal("unknown order status", anyhow::anyhow!("{status:?}"))
            })?;
            Ok(Claimed {
                status,
                holder: holder.map(SagaId),
                claimed,
            })
        })
        .transpose()
}

pub async fn order_exists(conn: &mut PgConnection, order_id: OrderId) -> Result<bool, Error> {
    let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM orders WHERE id = $1")
        .bind(order_id.0)
        .fetch_optional(conn)
        .await?;
    Ok(known.is_some())
}

/// Leaves a RELEASED tombstone when the saga has no fence row yet; false otherwise.
pub async fn release_tombstone(
    conn: &mut PgConnection,
    order_id: OrderId,
    saga: SagaId,
) -> Result<bool, Error> {
    let tombstone: Option<i32> = sqlx::query_scalar(
        "INSERT INTO stock_reservations (order_id, saga_id, state, released_at)
         VALUES ($1, $2, 'RELEASED', now())
         ON CONFLICT (order_id, saga_id) DO NOTHING RETURNING 1",
    )
    .bind(order_id.0)
    .bind(saga.0)
    .fetch_optional(conn)
    .await?;
    Ok(tombstone.is_some())
}

/// RESERVED -> RELEASED; false when it was not RESERVED.
pub async fn mark_released(
    conn: &mut PgConnection,
    order_id: OrderId,
    saga: SagaId,
) -> Result<bool, Error> {
    let flipped: Option<i32> = sqlx::query_scalar(
        "UPDATE stock_reservations SET state = 'RELEASED', released_at = now()
         WHERE order_id = $1 AND saga_id = $2 AND state = 'RESERVED' RETURNING 1",
    )
    .bind(order_id.0)
    .bind(saga.0)
    .fetch_optional(conn)
    .await?;
    Ok(flipped.is_some())
}

pub async fn fence_state(
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

/// Takes the stock of every line of the order, all or nothing, in one statement: the
/// products are locked in product-id order (so two reserves cannot deadlock), then
/// taken only if none is short. Returns the first line that is short (its product and
/// the quantity wanted), or `None` when everything was taken.
pub async fn take_all(
    conn: &mut PgConnection,
    order_id: OrderId,
) -> Result<Option<(ProductId, i32)>, Error> {
    let short: Option<(Uuid, i32)> = sqlx::query_as(
        "WITH wanted AS (
             SELECT product_id, sum(quantity)::integer AS n FROM order_lines
             WHERE order_id = $1 GROUP BY product_id),
         locked AS MATERIALIZED (
             SELECT p.id, p.stock FROM products p JOIN wanted w ON w.product_id = p.id
             ORDER BY p.id FOR UPDATE OF p),
         short AS MATERIALIZED (
             SELECT w.product_id, w.n FROM wanted w LEFT JOIN locked l ON l.id = w.product_id
             WHERE l.id IS NULL OR l.stock < w.n ORDER BY w.product_id LIMIT 1),
         taken AS (
             -- Runs to its end whether read or not (a data-modifying CTE).
             UPDATE products p SET stock = p.stock - w.n, updated_at = now()
             FROM wanted w WHERE p.id = w.product_id AND NOT EXISTS (SELECT 1 FROM short))
         SELECT product_id, n FROM short",
    )
    .bind(order_id.0)
    .fetch_optional(conn)
    .await?;
    Ok(short.map(|(product_id, n)| (ProductId(product_id), n)))
}

pub async fn put_back(
    conn: &mut PgConnection,
    product_id: ProductId,
    quantity: i32,
) -> Result<(), Error> {
    sqlx::query("UPDATE products SET stock = stock + $2, updated_at = now() WHERE id = $1")
        .bind(product_id.0)
        .bind(quantity)
        .execute(conn)
        .await?;
    Ok(())
}

/// Quantity per product over all lines, in product-id order: every transaction takes
/// product rows in the same order, so two reserves cannot deadlock.
pub async fn quantities(
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

/// Name and stock of each of `ids` that exists.
pub async fn stock_of(
    pool: &PgPool,
    ids: &[ProductId],
) -> Result<Vec<(ProductId, String, i32)>, Error> {
    let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    let found: Vec<(Uuid, String, i32)> =
        sqlx::query_as("SELECT id, name, stock FROM products WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(pool)
            .await?;
    Ok(found
        .into_iter()
        .map(|(id, name, stock)| (ProductId(id), name, stock))
        .collect())
}

/// Name and stock of one product, read outside any transaction.
pub async fn name_and_stock(
    pool: &PgPool,
    product_id: ProductId,
) -> Result<Option<(String, i32)>, sqlx::Error> {
    sqlx::query_as("SELECT name, stock FROM products WHERE id = $1")
        .bind(product_id.0)
        .fetch_optional(pool)
        .await
}
