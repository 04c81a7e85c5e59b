//! The SQL of orders: reading and listing them with their lines, the catalog's price
//! quotes, the per-user open-orders count, and inserting an order with its lines.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use crate::{
    domain::{
        Order, OrderId, OrderLine, OrderStatus, PaymentId, ProductId, SagaId, UserId,
        order::{NewOrder, PriceQuote},
        page::OrderCursor,
    },
    error::Error,
};
use shop_common::internal::InternalError;

/// The columns of `orders` read into an [`OrderRow`], in a form usable in `concat!`.
macro_rules! order_columns {
    () => {
        "o.id, o.user_id, o.status, o.total_amount, o.discount_amount, o.paid_amount, \
         o.created_at, o.expires_at, o.updated_at, o.payment_id, o.saga_id, o.last_error, \
         o.cancel_reason"
    };
}
pub(crate) use order_columns;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub status: String,
    pub total_amount: i64,
    pub discount_amount: i64,
    pub paid_amount: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub payment_id: Option<Uuid>,
    pub saga_id: Option<Uuid>,
    pub last_error: Option<String>,
    pub cancel_reason: Option<String>,
}

impl OrderRow {
    pub fn status(&self) -> Result<OrderStatus, Error> {
        OrderStatus::parse(&self.status).ok_or_else(|| {
            Error::internal(
                "unknown order status in the database",
                anyhow::anyhow!("order {} has status {:?}", self.id, self.status),
            )
        })
    }

    pub fn into_order(self, lines: Vec<OrderLine>) -> Result<Order, Error> {
        Ok(Order {
            status: self.status()?,
            id: OrderId(self.id),
            user_id: UserId(self.user_id),
            lines,
            total_amount: self.total_amount,
            discount_amount: self.discount_amount,
            paid_amount: self.paid_amount,
            created_at: self.created_at,
            expires_at: self.expires_at,
            updated_at: self.updated_at,
            payment_id: self.payment_id.map(PaymentId),
            saga_id: self.saga_id.map(SagaId),
            last_error: self.last_error,
            cancel_reason: self.cancel_reason,
        })
    }
}

#[derive(sqlx::FromRow)]
struct LineRow {
    order_id: Uuid,
    product_id: Uuid,
    quantity: i32,
    unit_price: i64,
    name: String,
}

/// The lines of each order, in line order.
async fn lines_of(
    db: impl PgExecutor<'_>,
    order_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OrderLine>>, Error> {
    let rows: Vec<LineRow> = sqlx::query_as(
        "SELECT order_id, product_id, quantity, unit_price, name FROM order_lines
         WHERE order_id = ANY($1) ORDER BY order_id, line_no",
    )
    .bind(order_ids)
    .fetch_all(db)
    .await?;
    let mut by_order: HashMap<Uuid, Vec<OrderLine>> = HashMap::new();
    for row in rows {
        by_order.entry(row.order_id).or_default().push(OrderLine {
            product_id: ProductId(row.product_id),
            quantity: row.quantity,
            unit_price: row.unit_price,
            name: row.name,
        });
    }
    Ok(by_order)
}

/// Joins rows with their lines (lines never change, so reading them apart is safe).
pub async fn with_lines(pool: &PgPool, rows: Vec<OrderRow>) -> Result<Vec<Order>, Error> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut lines = lines_of(pool, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let own = lines.remove(&row.id).unwrap_or_default();
            row.into_order(own)
        })
        .collect()
}

pub async fn with_lines_one(pool: &PgPool, row: OrderRow) -> Result<Order, Error> {
    let mut orders = with_lines(pool, vec![row]).await?;
    orders.pop().ok_or_else(|| {
        Error::internal("order vanished while reading it", anyhow::anyhow!("no row"))
    })
}

pub async fn get(pool: &PgPool, id: OrderId) -> Result<Order, Error> {
    let row: Option<OrderRow> = sqlx::query_as(concat!(
        "SELECT ",
        order_columns!(),
        " FROM orders o WHERE o.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(pool)
    .await?;
    let row = row.ok_or(Error::OrderNotFound(id))?;
    with_lines_one(pool, row).await
}

/// A user's orders, newest first, after `after`.
pub async fn list_for_user(
    pool: &PgPool,
    user_id: UserId,
    after: Option<OrderCursor>,
    limit: i64,
) -> Result<Vec<Order>, Error> {
    let rows: Vec<OrderRow> = sqlx::query_as(concat!(
        "SELECT ",
        order_columns!(),
        " FROM orders o WHERE o.user_id = $1
          AND ($2::timestamptz IS NULL OR (o.created_at, o.id) < ($2, $3))
          ORDER BY o.created_at DESC, o.id DESC LIMIT $4"
    ))
    .bind(user_id.0)
    .bind(after.map(|c| c.created_at))
    .bind(after.map(|c| c.id.0))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    with_lines(pool, rows).await
}

/// Advisory-lock namespace (first key) of per-user locks: serializes one user's order
/// creations, so that two at once cannot both pass the open-orders cap.
const USER_LOCK_SPACE: i32 = 0x0de1_0002;

/// What the catalog says now about each of `product_ids` that exists.
pub async fn quotes(pool: &PgPool, product_ids: &[ProductId]) -> Result<Vec<PriceQuote>, Error> {
    let ids: Vec<Uuid> = product_ids.iter().map(|id| id.0).collect();
    let quotes: Vec<(Uuid, String, i64)> =
        sqlx::query_as("SELECT id, name, price FROM products WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(pool)
            .await?;
    Ok(quotes
        .into_iter()
        .map(|(product_id, name, price)| PriceQuote {
            product_id: ProductId(product_id),
            name,
            price,
        })
        .collect())
}

/// Takes the user's lock (held until the caller commits), then counts their unpaid
/// orders that have not expired yet.
pub async fn open_orders_locked(tx: &mut PgConnection, user: UserId) -> Result<i64, Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2::text))")
        .bind(USER_LOCK_SPACE)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM orders WHERE user_id = $1 \
         AND status IN ('PENDING_PAYMENT', 'PAYMENT_IN_PROGRESS') AND expires_at > now()",
    )
    .bind(user.0)
    .fetch_one(&mut *tx)
    .await?;
    Ok(open)
}

/// Inserts the order row and its priced lines (numbered in order) in one statement;
/// `None` when its id is taken (a repeat, or a concurrent create won), and then no
/// line is written either.
pub async fn insert(
    tx: &mut PgConnection,
    new: &NewOrder,
    lines: &[OrderLine],
    total: i64,
) -> Result<Option<OrderRow>, Error> {
    let line_nos: Vec<i32> = (0..).take(lines.len()).collect();
    let row = sqlx::query_as(concat!(
        "WITH placed AS (
             INSERT INTO orders AS o (id, user_id, status, total_amount, expires_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING ",
        order_columns!(),
        "), lines AS (
             INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price, name)
             SELECT placed.id, n, p, q, u, m
             FROM placed, unnest($6::int[], $7::uuid[], $8::int[], $9::bigint[], $10::text[])
                  AS t(n, p, q, u, m))
         SELECT * FROM placed"
    ))
    .bind(new.id.0)
    .bind(new.user_id.0)
    .bind(OrderStatus::PendingPayment.as_str())
    .bind(total)
    .bind(new.expires_at)
    .bind(&line_nos)
    .bind(lines.iter().map(|l| l.product_id.0).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.quantity).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.unit_price).collect::<Vec<_>>())
    .bind(lines.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
    .fetch_optional(tx)
    .await?;
    Ok(row)
}
