//! The catalog: products, their stock, and the stock_adjustments audit trail.

use chrono::{DateTime, Utc};
use shop_common::db;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    domain::{
        Product, ProductId,
        product::{NewProduct, StockAdjustment},
    },
    error::Error,
};

/// The unique indexes that make a keyed create or adjustment happen once.
const PRODUCT_KEY: &str = "products_request_key";
const ADJUSTMENT_KEY: &str = "stock_adjustments_request_key";

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

/// Inserts the product and its initial stock as the first adjustment. With a request
/// key, a repeat returns the first product (a different body is refused).
pub async fn create(pool: &PgPool, new: &NewProduct) -> Result<Product, Error> {
    if let Some(key) = &new.request_key
        && let Some(first) = created_with(pool, key).await?
    {
        return same_product(first, new);
    }
    let mut tx = pool.begin().await?;
    let inserted: Result<ProductRow, sqlx::Error> = sqlx::query_as(
        "INSERT INTO products (id, name, price, stock, added, request_key)
         VALUES ($1, $2, $3, $4, $4, $5)
         RETURNING id, name, price, stock, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(new.name.as_str())
    .bind(new.price)
    .bind(new.stock)
    .bind(new.request_key.as_deref())
    .fetch_one(&mut *tx)
    .await;
    let row = match (inserted, &new.request_key) {
        (Ok(row), _) => row,
        // A concurrent create with the same key committed first: answer with its product.
        (Err(err), Some(key)) if db::unique_violation(&err) == Some(PRODUCT_KEY) => {
            drop(tx);
            let first = created_with(pool, key)
                .await?
                .ok_or_else(|| Error::internal("request key taken without a product", err))?;
            return same_product(first, new);
        }
        (Err(err), _) => return Err(err.into()),
    };
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
async fn created_with(pool: &PgPool, key: &str) -> Result<Option<(ProductRow, i32)>, Error> {
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
        (row, initial)
    }))
}

fn same_product((row, initial): (ProductRow, i32), new: &NewProduct) -> Result<Product, Error> {
    if row.name == new.name.as_str() && row.price == new.price && initial == new.stock {
        Ok(row.into())
    } else {
        Err(Error::RequestKeyReused(format!(
            "this idempotency key created product {} with other values",
            row.id
        )))
    }
}

/// Adds the adjustment's delta to the stock in one conditional UPDATE and records it in
/// the same transaction. The stock never goes below zero, and what the product has
/// been given in all (`added`: on hand plus reserved) never past the column's range,
/// so that putting reserved units back later cannot overflow it. With a request key,
/// a repeat changes nothing and returns the product.
pub async fn adjust_stock(pool: &PgPool, change: &StockAdjustment) -> Result<Product, Error> {
    let (id, delta) = (change.product_id, change.delta);
    if let Some(key) = &change.request_key
        && let Some(first) = adjusted_with(pool, key).await?
    {
        return same_adjustment(pool, first, change).await;
    }
    let mut tx = pool.begin().await?;
    let row: Option<ProductRow> = sqlx::query_as(
        "UPDATE products SET stock = stock + $2, added = added + $2, updated_at = now()
         WHERE id = $1 AND stock::bigint + $2 >= 0 AND added + $2 <= 2147483647
         RETURNING id, name, price, stock, created_at",
    )
    .bind(id.0)
    .bind(delta)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        drop(tx);
        return Err(adjust_refusal(pool, id, delta).await);
    };
    let recorded = sqlx::query(
        "INSERT INTO stock_adjustments (product_id, delta, reason, request_key)
         VALUES ($1, $2, 'ADJUSTMENT', $3)",
    )
    .bind(id.0)
    .bind(delta)
    .bind(change.request_key.as_deref())
    .execute(&mut *tx)
    .await;
    match (recorded, &change.request_key) {
        (Ok(_), _) => {
            tx.commit().await?;
            Ok(row.into())
        }
        // A concurrent repeat committed first: ours is rolled back and counts as it.
        (Err(err), Some(key)) if db::unique_violation(&err) == Some(ADJUSTMENT_KEY) => {
            drop(tx);
            let first = adjusted_with(pool, key)
                .await?
                .ok_or_else(|| Error::internal("request key taken without an adjustment", err))?;
            same_adjustment(pool, first, change).await
        }
        (Err(err), _) => Err(err.into()),
    }
}

/// The product and delta of the adjustment made with `key`.
async fn adjusted_with(pool: &PgPool, key: &str) -> Result<Option<(ProductId, i32)>, Error> {
    let found: Option<(Uuid, i32)> =
        sqlx::query_as("SELECT product_id, delta FROM stock_adjustments WHERE request_key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?;
    Ok(found.map(|(id, delta)| (ProductId(id), delta)))
}

async fn same_adjustment(
    pool: &PgPool,
    (product_id, delta): (ProductId, i32),
    change: &StockAdjustment,
) -> Result<Product, Error> {
    if product_id == change.product_id && delta == change.delta {
        get(pool, product_id).await
    } else {
        Err(Error::RequestKeyReused(format!(
            "this idempotency key already adjusted product {product_id} by {delta}"
        )))
    }
}

/// Why the conditional UPDATE of `adjust_stock` matched nothing.
async fn adjust_refusal(pool: &PgPool, id: ProductId, delta: i32) -> Error {
    let product = match get(pool, id).await {
        Ok(product) => product,
        Err(err) => return err,
    };
    if i64::from(product.stock) + i64::from(delta) < 0 {
        return Error::OutOfStock(format!(
            "product {id} ({}) has {} in stock; cannot remove {}",
            product.name,
            product.stock,
            delta.unsigned_abs()
        ));
    }
    let added: Result<i64, sqlx::Error> =
        sqlx::query_scalar("SELECT added FROM products WHERE id = $1")
            .bind(id.0)
            .fetch_one(pool)
            .await;
    let reserved = match added {
        Ok(added) => added - i64::from(product.stock),
        Err(err) => return err.into(),
    };
    Error::invalid(
        "delta",
        format!(
            "would raise the stock past {} (counting the {reserved} units reserved by \
             orders, which may yet be put back)",
            i32::MAX
        ),
    )
}
