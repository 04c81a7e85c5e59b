//! The catalog: products, their stock, and the stock_adjustments audit trail.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    domain::{Product, product::NewProduct},
    error::Error,
};

#[derive(sqlx::FromRow)]
struct ProductRow {
    id: Uuid,
    name: String,
    price: i64,
    stock: i32,
    created_at: DateTime<Utc>,
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            price: row.price,
            stock: row.stock,
            created_at: row.created_at,
        }
    }
}

/// Inserts the product and its initial stock as the first adjustment.
pub async fn create(pool: &PgPool, new: &NewProduct) -> Result<Product, Error> {
    let mut tx = pool.begin().await?;
    let row: ProductRow = sqlx::query_as(
        "INSERT INTO products (id, name, price, stock) VALUES ($1, $2, $3, $4)
         RETURNING id, name, price, stock, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(new.name.as_str())
    .bind(new.price)
    .bind(new.stock)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO stock_adjustments (product_id, delta, reason) VALUES ($1, $2, 'INITIAL')",
    )
    .bind(row.id)
    .bind(new.stock)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.into())
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Product, Error> {
    let row: Option<ProductRow> =
        sqlx::query_as("SELECT id, name, price, stock, created_at FROM products WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(Product::from).ok_or(Error::ProductNotFound(id))
}

/// Up to `limit` products with ids after `after`, in id order.
pub async fn list(pool: &PgPool, after: Option<Uuid>, limit: i64) -> Result<Vec<Product>, Error> {
    let rows: Vec<ProductRow> = sqlx::query_as(
        "SELECT id, name, price, stock, created_at FROM products
         WHERE $1::uuid IS NULL OR id > $1
         ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Product::from).collect())
}

/// Adds `delta` to the stock in one conditional UPDATE (never below zero, never past
/// the column's range) and records it as an adjustment in the same transaction.
pub async fn adjust_stock(pool: &PgPool, id: Uuid, delta: i32) -> Result<Product, Error> {
    let mut tx = pool.begin().await?;
    let row: Option<ProductRow> = sqlx::query_as(
        "UPDATE products SET stock = stock + $2, updated_at = now()
         WHERE id = $1 AND stock::bigint + $2 BETWEEN 0 AND 2147483647
         RETURNING id, name, price, stock, created_at",
    )
    .bind(id)
    .bind(delta)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        drop(tx);
        return Err(adjust_refusal(pool, id, delta).await);
    };
    sqlx::query(
        "INSERT INTO stock_adjustments (product_id, delta, reason) VALUES ($1, $2, 'ADJUSTMENT')",
    )
    .bind(id)
    .bind(delta)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.into())
}

/// Why the conditional UPDATE of `adjust_stock` matched nothing.
async fn adjust_refusal(pool: &PgPool, id: Uuid, delta: i32) -> Error {
    let product = match get(pool, id).await {
        Ok(product) => product,
        Err(err) => return err,
    };
    if i64::from(product.stock) + i64::from(delta) < 0 {
        Error::OutOfStock(format!(
            "product {id} ({}) has {} in stock; cannot remove {}",
            product.name,
            product.stock,
            delta.unsigned_abs()
        ))
    } else {
        Error::invalid("delta", "would raise the stock past 2147483647")
    }
}
