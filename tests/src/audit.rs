//! The invariant audit of DESIGN.md, read from all four databases and Redis:
//!
//! 1. Stock is conserved and never negative.
//! 2. Points are conserved (top-ups = balances + charged and not refunded), no balance
//!    below zero, every balance explained by its ledger.
//! 3. At most one charged payment per order; PAID/RECEIVED orders have exactly one and
//!    one live delivery; CANCELLED/EXPIRED/FAILED (and PENDING_PAYMENT) orders have no
//!    unrefunded charge and no reserved stock.
//! 4. No delivery without a charge; no delivery info of an unpaid order in Postgres;
//!    no hold left in Redis for a paid order.
//! 5. Every saga ends: none RUNNING/COMPENSATING, every STUCK one with a reason.

use std::{collections::HashMap, time::Duration};

use sqlx::PgPool;
use uuid::Uuid;

use crate::Databases;

/// How long the audit waits for sagas to end before it reports them.
const SAGA_PATIENCE: Duration = Duration::from_secs(45);

pub struct Audit {
    order: PgPool,
    payment: PgPool,
    delivery: PgPool,
    gateway: PgPool,
    redis: redis::Client,
}

impl Audit {
    pub async fn connect(databases: &Databases, redis_url: &str) -> Self {
        // It reads whole databases (a million orders in the scaled benchmark): a
        // statement may take longer than a service's.
        let timeouts = shop_common::db::Timeouts {
            statement: std::time::Duration::from_secs(120),
            ..shop_common::db::Timeouts::default()
        };
        let pool = |url: String| async move {
            shop_common::db::connect_with(&url, 2, timeouts)
                .await
                .expect("audit connects")
        };
        Self {
            order: pool(databases.order.clone()).await,
            payment: pool(databases.payment.clone()).await,
            delivery: pool(databases.delivery.clone()).await,
            gateway: pool(databases.gateway.clone()).await,
            redis: redis::Client::open(redis_url).expect("redis url"),
        }
    }

    /// Waits for sagas to end, then panics with every violation found.
    pub async fn assert_clean(&self) {
        self.wait_for_sagas().await;
        let violations = self.violations().await;
        assert!(
            violations.is_empty(),
            "invariant audit found {} violation(s):\n  {}",
            violations.len(),
            violations.join("\n  ")
        );
    }

    pub async fn wait_for_sagas(&self) {
        let deadline = tokio::time::Instant::now() + SAGA_PATIENCE;
        while tokio::time::Instant::now() < deadline {
            let open: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')",
            )
            .fetch_one(&self.gateway)
            .await
            .expect("count sagas");
            if open == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every violation of the five invariants, as sentences.
    pub async fn violations(&self) -> Vec<String> {
        let mut found = Vec::new();
        self.stock(&mut found).await;
        self.points(&mut found).await;
        self.orders(&mut found).await;
        self.sagas(&mut found).await;
        found
    }

    async fn stock(&self, found: &mut Vec<String>) {
        let rows: Vec<(Uuid, i32, i64, i64)> = sqlx::query_as(
            "SELECT product_id, stock, added, reserved FROM stock_audit WHERE added <> stock + reserved OR stock < 0",
        )
        .fetch_all(&self.order)
        .await
        .expect("stock audit");
        for (product, stock, added, reserved) in rows {
            found.push(format!(
                "1: product {product}: added {added} != stock {stock} + reserved {reserved}"
            ));
        }
    }

    async fn points(&self, found: &mut Vec<String>) {
        let (top_ups, balances, charged): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT coalesce(sum(amount), 0) FROM ledger WHERE kind = 'TOP_UP')::bigint, \
                    (SELECT coalesce(sum(balance), 0) FROM wallets)::bigint, \
                    (SELECT coalesce(sum(paid_amount), 0) FROM payments WHERE status = 'CHARGED')::bigint",
        )
        .fetch_one(&self.payment)
        .await
        .expect("points audit");
        if top_ups != balances + charged {
            found.push(format!(
                "2: top-ups {top_ups} != balances {balances} + charged {charged}"
            ));
        }
        let unexplained: Vec<(Uuid, i64, i64)> = sqlx::query_as(
            "SELECT w.user_id, w.balance, coalesce(sum(l.amount), 0)::bigint FROM wallets w \
             LEFT JOIN ledger l ON l.user_id = w.user_id GROUP BY w.user_id, w.balance \
             HAVING w.balance <> coalesce(sum(l.amount), 0) OR w.balance < 0",
        )
        .fetch_all(&self.payment)
        .await
        .expect("ledger audit");
        for (user, balance, ledger) in unexplained {
            found.push(format!(
                "2: wallet {user}: balance {balance} but ledger sums to {ledger}"
            ));
        }
    }

    async fn orders(&self, found: &mut Vec<String>) {
        let orders: Vec<(Uuid, String, bool)> = sqlx::query_as(
            "SELECT o.id, o.status, EXISTS (SELECT 1 FROM stock_reservations r WHERE r.order_id = o.id AND r.state = 'RESERVED') \
             FROM orders o",
        )
        .fetch_all(&self.order)
        .await
        .expect("orders");
        let payments: Vec<(Uuid, String)> = sqlx::query_as("SELECT order_id, status FROM payments")
            .fetch_all(&self.payment)
            .await
            .expect("payments");
        let deliveries: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT order_id, status FROM deliveries")
                .fetch_all(&self.delivery)
                .await
                .expect("deliveries");

        let mut charged: HashMap<Uuid, usize> = HashMap::new();
        let mut refunded: HashMap<Uuid, usize> = HashMap::new();
        for (order, status) in &payments {
            let counter = if status == "CHARGED" {
                &mut charged
            } else {
                &mut refunded
            };
            *counter.entry(*order).or_default() += 1;
        }
        let delivery_of: HashMap<Uuid, &str> =
            deliveries.iter().map(|(o, s)| (*o, s.as_str())).collect();
        let status_of: HashMap<Uuid, &str> =
            orders.iter().map(|(o, s, _)| (*o, s.as_str())).collect();
        let mut redis = self.redis.get_multiplexed_async_connection().await.ok();

        for (order, status, reserved) in &orders {
            let charges = charged.get(order).copied().unwrap_or(0);
            let delivery = delivery_of.get(order).copied();
            if charges > 1 {
                found.push(format!("3: order {order} has {charges} charged payments"));
            }
            match status.as_str() {
                "PAID" | "RECEIVED" => {
                    if charges != 1 {
                        found.push(format!(
                            "3: {status} order {order} has {charges} charged payments"
                        ));
                    }
                    if !matches!(delivery, Some(d) if d != "CANCELLED") {
                        found.push(format!(
                            "3: {status} order {order} has delivery {delivery:?}"
                        ));
                    }
                    if !reserved {
                        found.push(format!("3: {status} order {order} has no reserved stock"));
                    }
                    if let Some(conn) = redis.as_mut() {
                        let held: bool = redis::cmd("EXISTS")
                            .arg(format!("delivery:hold:{order}"))
                            .query_async(conn)
                            .await
                            .unwrap_or(false);
                        if held {
                            found.push(format!(
                                "4: {status} order {order} still has a delivery hold in Redis"
                            ));
                        }
                    }
                }
                "PAYMENT_IN_PROGRESS" => {
                    found.push(format!("5: order {order} is still PAYMENT_IN_PROGRESS"))
                }
                _ => {
                    if charges != 0 {
                        found.push(format!(
                            "3: {status} order {order} has an unrefunded charge"
                        ));
                    }
                    if *reserved {
                        found.push(format!(
                            "3: {status} order {order} still has stock reserved"
                        ));
                    }
                }
            }
        }
        for (order, delivery) in &deliveries {
            let order_status = status_of.get(order).copied().unwrap_or("MISSING");
            let paid_once = charged.contains_key(order) || refunded.contains_key(order);
            if !paid_once {
                found.push(format!(
                    "4: delivery of order {order} ({delivery}) without any charge"
                ));
            }
            let consistent = match delivery.as_str() {
                // Cancelled with its order, or fenced behind a lost hold (the order
                // FAILED and was refunded): never with a live charge.
                "CANCELLED" => {
                    matches!(order_status, "CANCELLED" | "FAILED") && !charged.contains_key(order)
                }
                _ => matches!(order_status, "PAID" | "RECEIVED") && charged.contains_key(order),
            };
            if !consistent {
                found.push(format!(
                    "4: delivery {delivery} of order {order} in state {order_status}"
                ));
            }
        }
    }

    async fn sagas(&self, found: &mut Vec<String>) {
        let open: Vec<(Uuid, String, String)> = sqlx::query_as(
            "SELECT id, state, step FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING') OR (state = 'STUCK' AND last_error = '')",
        )
        .fetch_all(&self.gateway)
        .await
        .expect("sagas");
        for (saga, state, step) in open {
            found.push(format!("5: saga {saga} is {state} at {step}"));
        }
    }

    /// Sagas an operator would have to look at.
    pub async fn stuck_sagas(&self) -> Vec<(Uuid, String)> {
        sqlx::query_as("SELECT id, last_error FROM sagas WHERE state = 'STUCK'")
            .fetch_all(&self.gateway)
            .await
            .expect("stuck sagas")
    }
}
