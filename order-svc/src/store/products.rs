//! The SQL of the catalog: products, their stock, and the stock_adjustments audit
//! trail (with the request keys that make a keyed write happen once).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    domain::{
        Product, ProductId,
        product::{NewProduct, StockAdjustment},
    },
    error::Error,
};

/// The unique indexes that make a keyed create or adjustment happen once.
pub const PRODUCT_KEY: &str = "products_request_key";
pub const ADJUSTMENT_KEY: &str = "stock_adjustments_request_key";

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
            id: ProductId(row.id),
            name: row.name,
            price: row.price,
            stock: row.stock,
            created_at: row.created_at,
        }
    }
}

/// Inserts a new product with its initial stock counted as added. The error is left
/// raw: a unique violation of [`PRODUCT_KEY`] means a concurrent keyed create won.
pub async fn insert(tx: &mut PgConnection, new: &NewProduct) -> Result<Product, sqlx::Error> {
    let row: ProductRow = sqlx::query_as(
        "INSERT INTO products (id, name, price, stock, added, request_key)
         VALUES ($1, $2, $3, $4, $4, $5)
         RETURNING id, name, price, stock, created_at",
    )
    .bind(ProductId::generate().0)
    .bind(new.name.as_str())
    .bind(new.price)
    .bind(new.stock)
    .bind(new.request_key.as_deref())
    .fetch_one(tx)
    .await?;
    Ok(row.into())
}

/// Records the initial stock as the product's first adjustment.
pub async fn record_initial(tx: &mut PgConnection, product: &Product) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO stock_adjustments (product_id, delta, reason) VALUES ($1, $2, 'INITIAL')",
    )
    .bind(product.id.0)
    .bind(product.stock)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn get(pool: &PgPool, id: ProductId) -> Result<Product, Error> {
    let row: Option<ProductRow> =
        sqlx::query_as("SELECT id, name, price, stock, created_at FROM products WHERE id = $1")
            .bind(id.0)
            .fetch_optional(pool)
            .await?;
    row.map(Product::from).ok_or(Error::ProductNotFound(id))
}

/// Up to `limit` products with ids after `after`, in id order.
pub async fn list(
    pool: &PgPool,
    after: Option<ProductId>,
    limit: i64,
) -> Result<Vec<Product>, Error> {
    let rows: Vec<ProductRow> = sqlx::query_as(
        "SELECT id, name, price, stock, created_at FROM products
         WHERE $1::uuid IS NULL OR id > $1
         ORDER BY id LIMIT $2",
    )
    .bind(after.map(|id| id.0))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Product::from).collect())
}

/// The product created with `key`, and the stock it was created with.
pub async fn created_with(pool: &PgPool, key: &str) -> Result<Option<(Product, i32)>, Error> {
    let found: Option<(Uuid, String, i64, i32, DateTime<Utc>, i32)> = sqlx::query_as(
        "SELECT p.id, p.name, p.price, p.stock, p.created_at, a.delta
         FROM products p
         JOIN stock_adjustments a ON a.product_id = p.id AND a.reason = 'INITIAL'
         WHERE p.request_key = $1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(found.map(|(id, name, price, stock, created_at, initial)| {
        let row = ProductRow {
            id,
            name,
            price,
            stock,
            created_at,
        };
        (row.into(), initial)
    }))
}

/// Adds `delta` to the stock in one conditional UPDATE: the stock never goes below
/// zero, and what the product has been given in all (`added`: on hand plus reserved)
/// never past the column's range. `None` when the condition refused it.
pub async fn add_stock(
    tx: &mut PgConnection,
    id: ProductId,
    delta: i32,
) -> Result<Option<Product>, Error> {
    let row: Option<ProductRow> = sqlx::query_as(
        "UPDATE products SET stock = stock + $2, added = added + $2, updated_at = now()
         WHERE id = $1 AND stock::bigint + $2 >= 0 AND added + $2 <= 2147483647
         RETURNING id, name, price, stock, created_at",
    )
    .bind(id.0)
    .bind(delta)
    .fetch_optional(tx)
    .await?;
    Ok(row.map(Product::from))
}

/// Records an adjustment. The error is left raw: a unique violation of
/// [`ADJUSTMENT_KEY`] means a concurrent repeat committed first.
pub async fn record_adjustment(
    tx: &mut PgConnection,
    change: &StockAdjustment,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stock_adjustments (product_id, delta, reason, request_key)
         VALUES ($1, $2, 'ADJUSTMENT', $3)",
    )
    .bind(change.product_id.0)
    .bind(change.delta)
    .bind(change.request_key.as_deref())
    .execute(tx)
    .await?;
    Ok(())
}

/// The product and delta of the adjustment made with `key`.
pub async fn adjusted_with(pool: &PgPool, key: &str) -> Result<Option<(ProductId, i32)>, Error> {
    let found: Option<(Uuid, i32)> =
        sqlx::query_as("SELECT product_id, delta FROM stock_adjustments WHERE request_key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?;
    Ok(found.map(|(id, delta)| (ProductId(id), delta)))
}

/// What the product has been given in all: on hand plus reserved.
pub async fn added(pool: &PgPool, id: ProductId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT added FROM products WHERE id = $1")
        .bind(id.0)
        .fetch_one(pool)
        .await
}
