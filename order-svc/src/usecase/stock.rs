//! ReserveStock and ReleaseStock, the stock movements of the pay saga, each in one
//! transaction with its fence row; and CheckStock, the read-only look before a saga.

use std::collections::BTreeMap;

use sqlx::PgPool;

use crate::{
    domain::{OrderId, ProductId, SagaId, lifecycle, order::LineRequest},
    error::Error,
    store::stock,
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
    let ids: Vec<ProductId> = wanted.keys().copied().collect();
    let found = stock::stock_of(pool, &ids).await?;
    for (product_id, quantity) in wanted {
        match found.iter().find(|(id, ..)| *id == product_id) {
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
    let found = stock::claim_reservation(&mut tx, order_id, saga)
        .await?
        .ok_or(Error::OrderNotFound(order_id))?;
    if !found.claimed {
        return match stock::fence_state(&mut tx, order_id, saga)
            .await?
            .as_deref()
        {
            Some("RESERVED") => Ok(()),
            _ => Err(Error::ReservationReleased {
                order_id,
                saga_id: saga,
            }),
        };
    }
    lifecycle::may_reserve(found.status, found.holder, saga)?;

    if let Some((product_id, quantity)) = stock::take_all(&mut tx, order_id).await? {
        // Nothing was taken; the claim goes with the rollback.
        drop(tx);
        return Err(shortage(pool, product_id, quantity).await);
    }
    tx.commit().await?;
    Ok(())
}

/// Puts back what `reserve` took for `saga`, once. Returns whether this call did it.
/// Before any reserve it leaves a RELEASED tombstone, which refuses a late reserve.
#[tracing::instrument(name = "release_stock", skip_all, fields(%order_id, saga_id = %saga))]
pub async fn release(pool: &PgPool, order_id: OrderId, saga: SagaId) -> Result<bool, Error> {
    let mut tx = pool.begin().await?;
    if !stock::order_exists(&mut tx, order_id).await? {
        return Err(Error::OrderNotFound(order_id));
    }
    if stock::release_tombstone(&mut tx, order_id, saga).await? {
        tx.commit().await?;
        return Ok(false);
    }
    if !stock::mark_released(&mut tx, order_id, saga).await? {
        return Ok(false);
    }
    for (product_id, quantity) in stock::quantities(&mut tx, order_id).await? {
        stock::put_back(&mut tx, product_id, quantity).await?;
    }
    tx.commit().await?;
    metrics::counter!("shop_stock_releases_total").increment(1);
    Ok(true)
}

/// OUT_OF_STOCK naming the product that is short.
async fn shortage(pool: &PgPool, product_id: ProductId, wanted: i32) -> Error {
    match stock::name_and_stock(pool, product_id).await {
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
