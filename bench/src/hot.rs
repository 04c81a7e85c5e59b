//! The hot product: many buyers start a Checkout of the same product at the same
//! moment, for less stock than buyers. Exactly `stock` may succeed; the oversell is
//! read from the databases (paid orders, charged payments, stock left), not trusted
//! from the answers.

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio::{sync::Barrier, time::Instant};
use uuid::Uuid;

use crate::{
    driver::OPERATION_TIMEOUT,
    shop::{self, Shopper},
    stats::Stats,
    target::Target,
};

/// What the hot-product run saw and what the databases say.
#[derive(Debug, Clone)]
pub struct HotReport {
    pub buyers: usize,
    pub stock: i32,
    /// Successes and failures as the buyers saw them.
    pub answers: Stats,
    /// From the first request to the answer of the last success.
    pub sold_out_after: Option<Duration>,
    pub verified: Verified,
}

/// The databases' account of the product after the run.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    pub stock_left: i32,
    /// Units in PAID/RECEIVED orders.
    pub units_paid: i64,
    /// Units under a live stock reservation.
    pub units_reserved: i64,
    /// Charged (not refunded) payments of orders of this product.
    pub charges: i64,
}

impl HotReport {
    /// Units sold beyond the stock, by the most pessimistic database count.
    pub fn oversold(&self) -> i64 {
        let v = self.verified;
        let sold = v.units_paid.max(v.units_reserved).max(v.charges);
        (sold - i64::from(self.stock)).max(0) + i64::from(v.stock_left.min(0)).abs()
    }

    /// Whether the stock adds up: what is left plus what is reserved is what there was.
    pub fn conserved(&self) -> bool {
        i64::from(self.verified.stock_left) + self.verified.units_reserved == i64::from(self.stock)
    }
}

/// Runs the hot product once with `buyers` fresh, topped-up shoppers.
pub async fn run(
    target: &Target,
    admin: &Shopper,
    buyers: usize,
    stock: i32,
) -> anyhow::Result<HotReport> {
    let product = admin.create_product("hot product", 1000, stock).await?;
    let shoppers = shop::shoppers(target, admin, buyers).await?;
    let start = Arc::new(Barrier::new(buyers + 1));
    let tasks: Vec<_> = shoppers
        .into_iter()
        .map(|shopper| {
            let start = start.clone();
            let lines = vec![shop::line(&product, 1)];
            tokio::spawn(async move {
                start.wait().await;
                let began = Instant::now();
                let outcome = tokio::time::timeout(OPERATION_TIMEOUT, shopper.checkout(lines))
                    .await
                    .unwrap_or_else(|_| Err("timeout".into()));
                (began, began.elapsed(), outcome)
            })
        })
        .collect();
    start.wait().await;
    let t0 = Instant::now();
    let mut answers = Stats::default();
    let mut last_success: Option<Duration> = None;
    for task in tasks {
        let (began, latency, outcome) = task.await?;
        if outcome.is_ok() {
            let at = (began + latency).saturating_duration_since(t0);
            last_success = Some(last_success.map_or(at, |l| l.max(at)));
        }
        answers.record(latency, outcome);
    }
    answers.elapsed = t0.elapsed();
    let verified = verify(target, &product).await?;
    let sold_out = answers.ok() >= stock as u64;
    Ok(HotReport {
        buyers,
        stock,
        answers,
        sold_out_after: if sold_out { last_success } else { None },
        verified,
    })
}

async fn verify(target: &Target, product: &str) -> anyhow::Result<Verified> {
    let product = Uuid::try_parse(product)?;
    let order_db = shop_common::db::connect(&target.databases.order, 2).await?;
    let payment_db = shop_common::db::connect(&target.databases.payment, 2).await?;
    let (stock_left, units_paid, units_reserved, orders) = order_side(&order_db, product).await?;
    let charges: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payments WHERE status = 'CHARGED' AND order_id = ANY($1)",
    )
    .bind(&orders)
    .fetch_one(&payment_db)
    .await?;
    order_db.close().await;
    payment_db.close().await;
    Ok(Verified {
        stock_left,
        units_paid,
        units_reserved,
        charges,
    })
}

async fn order_side(db: &PgPool, product: Uuid) -> anyhow::Result<(i32, i64, i64, Vec<Uuid>)> {
    let stock_left: i32 = sqlx::query_scalar("SELECT stock FROM products WHERE id = $1")
        .bind(product)
        .fetch_one(db)
        .await?;
    let units_paid: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(l.quantity), 0)::bigint FROM order_lines l JOIN orders o ON o.id = l.order_id
         WHERE l.product_id = $1 AND o.status IN ('PAID', 'RECEIVED')",
    )
    .bind(product)
    .fetch_one(db)
    .await?;
    let units_reserved: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(l.quantity), 0)::bigint FROM stock_reservations r
         JOIN order_lines l ON l.order_id = r.order_id
         WHERE r.state = 'RESERVED' AND l.product_id = $1",
    )
    .bind(product)
    .fetch_one(db)
    .await?;
    let orders: Vec<Uuid> =
        sqlx::query_scalar("SELECT DISTINCT order_id FROM order_lines WHERE product_id = $1")
            .bind(product)
            .fetch_all(db)
            .await?;
    Ok((stock_left, units_paid, units_reserved, orders))
}
