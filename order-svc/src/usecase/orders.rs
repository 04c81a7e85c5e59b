//! Orders: CreateOrder (priced from the catalog, under the user's open-orders cap, with
//! its ORDER_PLACED event in the same transaction), and the reads GetOrder and
//! ListOrders, which are single queries of the store.

use sqlx::PgPool;

use crate::{
    domain::{
        EventKind, Order, OrderStatus, ProductId,
        order::{NewOrder, PricingError, price_lines},
    },
    error::Error,
    store::{events, orders},
};

pub use crate::store::orders::{get, list_for_user};

/// Creates the order with price and name snapshots and its ORDER_PLACED event, or
/// returns the existing order when this id was already used by the same user. A user
/// who has `max_open` unpaid orders open (0: no limit) is refused. The insert comes
/// first and a repeat is found by its conflict, so a new order is not read before it
/// is written; a refusal still answers a repeat with its order.
pub async fn create(pool: &PgPool, new: &NewOrder, max_open: u32) -> Result<Order, Error> {
    let mut product_ids: Vec<ProductId> = new.lines.iter().map(|l| l.product_id).collect();
    product_ids.sort_unstable();
    product_ids.dedup();
    let quotes = orders::quotes(pool, &product_ids).await?;
    let (lines, total) = match price_lines(&new.lines, &quotes) {
        Ok(priced) => priced,
        Err(err) => return unless_made(pool, new, pricing_refusal(err)).await,
    };

    let mut tx = pool.begin().await?;
    if max_open > 0 {
        let open = orders::open_orders_locked(&mut tx, new.user_id).await?;
        if open >= i64::from(max_open) {
            drop(tx);
            let refusal = Error::TooManyOpenOrders {
                open,
                max: max_open,
            };
            return unless_made(pool, new, refusal).await;
        }
    }
    let Some(row) = orders::insert(&mut tx, new, &lines, total).await? else {
        // Made before (a repeat), or a concurrent create with the same id won.
        drop(tx);
        return unless_made(pool, new, Error::OrderIdTaken(new.id)).await;
    };
    events::append(
        &mut tx,
        &[new.id],
        EventKind::Placed,
        OrderStatus::PendingPayment,
    )
    .await?;
    tx.commit().await?;
    row.into_order(lines)
}

fn pricing_refusal(err: PricingError) -> Error {
    match err {
        PricingError::UnknownProduct { product_id, .. } => Error::ProductNotFound(product_id),
        PricingError::TotalOverflow => Error::invalid("lines", "the order total is too large"),
        PricingError::AboveMaxCharge(total) => Error::invalid(
            "lines",
            format!(
                "the order total {total} is above the largest amount a payment can take ({})",
                shop_common::validate::MAX_CHARGE
            ),
        ),
    }
}

/// The order this id already made for this user (a repeat is answered with it), else
/// `refusal`.
async fn unless_made(pool: &PgPool, new: &NewOrder, refusal: Error) -> Result<Order, Error> {
    existing(pool, new).await?.ok_or(refusal)
}

/// The order already stored under `new.id`: returned for the same user, refused for
/// another one.
async fn existing(pool: &PgPool, new: &NewOrder) -> Result<Option<Order>, Error> {
    match get(pool, new.id).await {
        Ok(order) if order.user_id == new.user_id => Ok(Some(order)),
        Ok(_) => Err(Error::OrderIdTaken(new.id)),
        Err(Error::OrderNotFound(_)) => Ok(None),
        Err(err) => Err(err),
    }
}
