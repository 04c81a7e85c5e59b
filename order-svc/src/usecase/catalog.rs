//! The catalog: CreateProduct and AdjustStock (each once per request key, its audit
//! row in the same transaction), and the reads GetProduct and ListProducts.

use shop_common::db;
use sqlx::PgPool;

use crate::{
    domain::{
        Product, ProductId,
        product::{NewProduct, StockAdjustment},
    },
    error::Error,
    store::products::{self, ADJUSTMENT_KEY, PRODUCT_KEY},
};
use shop_common::internal::InternalError;

pub use crate::store::products::{get, list};

/// Inserts the product and its initial stock as the first adjustment. With a request
/// key, a repeat returns the first product (a different body is refused).
pub async fn create(pool: &PgPool, new: &NewProduct) -> Result<Product, Error> {
    if let Some(key) = &new.request_key
        && let Some(first) = products::created_with(pool, key).await?
    {
        return same_product(first, new);
    }
    let mut tx = pool.begin().await?;
    let product = match (products::insert(&mut tx, new).await, &new.request_key) {
        (Ok(product), _) => product,
        // A concurrent create with the same key committed first: answer with its product.
        (Err(err), Some(key)) if db::unique_violation(&err) == Some(PRODUCT_KEY) => {
            drop(tx);
            let first = products::created_with(pool, key)
                .await?
                .ok_or_else(|| Error::internal("request key taken without a product", err))?;
            return same_product(first, new);
        }
        (Err(err), _) => return Err(err.into()),
    };
    products::record_initial(&mut tx, &product).await?;
    tx.commit().await?;
    Ok(product)
}

fn same_product((first, initial): (Product, i32), new: &NewProduct) -> Result<Product, Error> {
    if first.name == new.name.as_str() && first.price == new.price && initial == new.stock {
        Ok(first)
    } else {
        Err(Error::RequestKeyReused(format!(
            "this idempotency key created product {} with other values",
            first.id
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
        && let Some(first) = products::adjusted_with(pool, key).await?
    {
        return same_adjustment(pool, first, change).await;
    }
    let mut tx = pool.begin().await?;
    let Some(product) = products::add_stock(&mut tx, id, delta).await? else {
        drop(tx);
        return Err(adjust_refusal(pool, id, delta).await);
    };
    match (
        products::record_adjustment(&mut tx, change).await,
        &change.request_key,
    ) {
        (Ok(()), _) => {
            tx.commit().await?;
            Ok(product)
        }
        // A concurrent repeat committed first: ours is rolled back and counts as it.
        (Err(err), Some(key)) if db::unique_violation(&err) == Some(ADJUSTMENT_KEY) => {
            drop(tx);
            let first = products::adjusted_with(pool, key)
                .await?
                .ok_or_else(|| Error::internal("request key taken without an adjustment", err))?;
            same_adjustment(pool, first, change).await
        }
        (Err(err), _) => Err(err.into()),
    }
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
    let reserved = match products::added(pool, id).await {
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
