//! All SQL of the exporter. One event is one transaction: its dedup row, its timeline
//! row and its change of the facts commit together, or not at all.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::fact::{Detail, Fact, Milestone};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    New,
    /// Seen before: nothing changed but the duplicate count.
    Duplicate,
}

/// Records `fact` once per event id.
pub async fn record(
    pool: &PgPool,
    routing_key: &str,
    fact: &Fact,
) -> Result<Recorded, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let first: bool = sqlx::query_scalar(
        "INSERT INTO processed_events (event_id, routing_key) VALUES ($1, $2)
         ON CONFLICT (event_id) DO UPDATE SET duplicates = processed_events.duplicates + 1
         RETURNING duplicates = 0",
    )
    .bind(fact.event_id)
    .bind(routing_key)
    .fetch_one(&mut *tx)
    .await?;
    if !first {
        tx.commit().await?;
        return Ok(Recorded::Duplicate);
    }
    sqlx::query(
        r#"INSERT INTO order_timeline (event_id, order_id, source, kind, status, "offset", occurred_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
    )
    .bind(fact.event_id)
    .bind(fact.order_id)
    .bind(fact.source.as_str())
    .bind(&fact.kind)
    .bind(&fact.status)
    .bind(fact.offset)
    .bind(fact.occurred_at)
    .execute(&mut *tx)
    .await?;
    match &fact.detail {
        Detail::Order { .. } => order_fact(&mut tx, fact).await?,
        Detail::Delivery { auto_received } => delivery_fact(&mut tx, fact, *auto_received).await?,
    }
    tx.commit().await?;
    Ok(Recorded::New)
}

/// The milestone's time when `fact` marks `milestone`, else NULL (COALESCE keeps the
/// first time a milestone was reached).
fn at(fact: &Fact, milestone: Milestone) -> Option<DateTime<Utc>> {
    (fact.milestone == Some(milestone)).then_some(fact.occurred_at)
}

async fn order_fact(conn: &mut PgConnection, fact: &Fact) -> Result<(), sqlx::Error> {
    let Detail::Order {
        user_id,
        total_amount,
        discount_amount,
        paid_amount,
    } = fact.detail
    else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO order_facts AS f (order_id, user_id, status, total_amount,
             discount_amount, paid_amount, order_offset, placed_at, paid_at, cancelled_at,
             expired_at, failed_at, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (order_id) DO UPDATE SET
             user_id = EXCLUDED.user_id,
             status = CASE WHEN f.order_offset IS NULL OR EXCLUDED.order_offset > f.order_offset
                           THEN EXCLUDED.status ELSE f.status END,
             total_amount = CASE WHEN f.order_offset IS NULL OR EXCLUDED.order_offset > f.order_offset
                           THEN EXCLUDED.total_amount ELSE f.total_amount END,
             discount_amount = CASE WHEN f.order_offset IS NULL OR EXCLUDED.order_offset > f.order_offset
                           THEN EXCLUDED.discount_amount ELSE f.discount_amount END,
             paid_amount = CASE WHEN f.order_offset IS NULL OR EXCLUDED.order_offset > f.order_offset
                           THEN EXCLUDED.paid_amount ELSE f.paid_amount END,
             order_offset = GREATEST(f.order_offset, EXCLUDED.order_offset),
             placed_at = COALESCE(f.placed_at, EXCLUDED.placed_at),
             paid_at = COALESCE(f.paid_at, EXCLUDED.paid_at),
             cancelled_at = COALESCE(f.cancelled_at, EXCLUDED.cancelled_at),
             expired_at = COALESCE(f.expired_at, EXCLUDED.expired_at),
             failed_at = COALESCE(f.failed_at, EXCLUDED.failed_at),
             received_at = COALESCE(f.received_at, EXCLUDED.received_at),
             updated_at = now()",
    )
    .bind(fact.order_id)
    .bind(user_id)
    .bind(&fact.status)
    .bind(total_amount)
    .bind(discount_amount)
    .bind(paid_amount)
    .bind(fact.offset)
    .bind(at(fact, Milestone::Placed))
    .bind(at(fact, Milestone::Paid))
    .bind(at(fact, Milestone::Cancelled))
    .bind(at(fact, Milestone::Expired))
    .bind(at(fact, Milestone::Failed))
    .bind(at(fact, Milestone::Received))
    .execute(conn)
    .await?;
    Ok(())
}

async fn delivery_fact(
    conn: &mut PgConnection,
    fact: &Fact,
    auto_received: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_facts AS f (order_id, delivery_status, auto_received,
             delivery_offset, delivery_created_at, shipped_at, delivered_at,
             delivery_received_at, delivery_cancelled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (order_id) DO UPDATE SET
             delivery_status = CASE WHEN f.delivery_offset IS NULL
                                      OR EXCLUDED.delivery_offset > f.delivery_offset
                                    THEN EXCLUDED.delivery_status ELSE f.delivery_status END,
             auto_received = f.auto_received OR EXCLUDED.auto_received,
             delivery_offset = GREATEST(f.delivery_offset, EXCLUDED.delivery_offset),
             delivery_created_at = COALESCE(f.delivery_created_at, EXCLUDED.delivery_created_at),
             shipped_at = COALESCE(f.shipped_at, EXCLUDED.shipped_at),
             delivered_at = COALESCE(f.delivered_at, EXCLUDED.delivered_at),
             delivery_received_at = COALESCE(f.delivery_received_at, EXCLUDED.delivery_received_at),
             delivery_cancelled_at = COALESCE(f.delivery_cancelled_at, EXCLUDED.delivery_cancelled_at),
             updated_at = now()",
    )
    .bind(fact.order_id)
    .bind(&fact.status)
    .bind(auto_received)
    .bind(fact.offset)
    .bind(at(fact, Milestone::DeliveryCreated))
    .bind(at(fact, Milestone::Shipped))
    .bind(at(fact, Milestone::Delivered))
    .bind(at(fact, Milestone::DeliveryReceived))
    .bind(at(fact, Milestone::DeliveryCancelled))
    .execute(conn)
    .await?;
    Ok(())
}
