//! The saga log in the gateway's database: every transition of a saga is one
//! transaction that updates its row (and renews its lease) and appends step records.
//!
//! Leases have an owner and an epoch. Whoever drives a saga claimed it (the request
//! that created it, recovery, an operator's retry), which took the next epoch, and
//! every write of the saga is conditional on that epoch: a driver that lost its lease
//! (paused past it, partitioned, slow) finds its next write refused and stops.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row, postgres::PgRow};
use uuid::Uuid;

use super::model::{Entry, Fate, Kind, Logged, Phase, Saga, Seen, State, Step};
use crate::ids::SagaId;

/// How long a running saga is owned by whoever runs it, unless its driver renews the
/// lease (it does, while it is alive: see `engine`); after that recovery may take it.
pub const LEASE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Another driver claimed the saga since this one's last write.
    #[error("the saga's lease was taken over by another driver")]
    LeaseLost,
    #[error("saga log: {0}")]
    Database(#[from] sqlx::Error),
}

/// Open sagas, for the gauges operators watch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Backlog {
    pub open: i64,
    pub stuck: i64,
    pub oldest_open_age_seconds: f64,
}

/// One record of a saga's log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepRecord {
    pub step: String,
    pub phase: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct SagaLog {
    pool: PgPool,
    lease: Duration,
}

/// A saga as listed for operators.
#[derive(Debug, Clone)]
pub struct SagaRecord {
    pub saga: Saga,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When recovery may take it next (meaningful while it is unfinished).
    pub lease_until: DateTime<Utc>,
}

const COLUMNS: &str = "id, order_id, user_id, kind, state, step, phase, outcome, amount, coupon_id, payment_id, \
     discount_amount, paid_amount, target_saga_id, reason, attempts, last_error, epoch, created_at, updated_at, \
     lease_until";

impl SagaLog {
    /// A log whose leases last `lease` (normally [`LEASE`]).
    pub fn new(pool: PgPool, lease: Duration) -> Self {
        Self { pool, lease }
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Writes a new saga (and its first step record) before any of its steps runs,
    /// leased to `owner` at the saga's epoch: one statement, one commit.
    pub async fn create(&self, saga: &Saga, owner: Uuid) -> sqlx::Result<()> {
        sqlx::query(
            "WITH saga AS (
                 INSERT INTO sagas (id, order_id, user_id, kind, state, step, phase, coupon_id, target_saga_id,
                                    reason, lease_until, owner, epoch)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + $11, $12, $13) RETURNING id)
             INSERT INTO saga_steps (saga_id, step, phase) SELECT id, $6, $7 FROM saga",
        )
        .bind(saga.id)
        .bind(saga.order_id)
        .bind(saga.user_id)
        .bind(saga.kind.as_str())
        .bind(saga.state.as_str())
        .bind(saga.step.as_str())
        .bind(saga.phase.as_str())
        .bind(saga.coupon_id)
        .bind(saga.target_saga_id)
        .bind(&saga.reason)
        .bind(shop_common::db::interval(self.lease))
        .bind(owner)
        .bind(saga.epoch)
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// Saves the saga as it is now and appends `entries` to its log, in one statement
    /// (one commit), if this driver still holds its lease; the lease then runs `lease`
    /// from now (the normal lease, or a backoff before recovery retries).
    pub async fn record(
        &self,
        saga: &Saga,
        entries: &[Entry],
        lease: Duration,
    ) -> Result<(), LogError> {
        let labels: Vec<&str> = entries.iter().map(|e| e.label.as_str()).collect();
        let phases: Vec<&str> = entries.iter().map(|e| e.phase).collect();
        let details: Vec<&str> = entries.iter().map(|e| e.detail.as_str()).collect();
        let updated: i64 = sqlx::query_scalar(
            "WITH saga AS (
                 UPDATE sagas SET state = $3, step = $4, phase = $5, outcome = $6, amount = $7, payment_id = $8,
                        discount_amount = $9, paid_amount = $10, last_error = $11,
                        lease_until = now() + $12, updated_at = now()
                 WHERE id = $1 AND epoch = $2 RETURNING id),
             steps AS (
                 INSERT INTO saga_steps (saga_id, step, phase, detail)
                 SELECT saga.id, e.step, e.phase, e.detail
                 FROM saga, unnest($13::text[], $14::text[], $15::text[]) WITH ORDINALITY AS e(step, phase, detail, n)
                 ORDER BY e.n)
             SELECT count(*) FROM saga",
        )
        .bind(saga.id)
        .bind(saga.epoch)
        .bind(saga.state.as_str())
        .bind(saga.step.as_str())
        .bind(saga.phase.as_str())
        .bind(saga.fate.map(Fate::as_str))
        .bind(saga.amount)
        .bind(saga.payment_id)
        .bind(saga.discount_amount)
        .bind(saga.paid_amount)
        .bind(&saga.last_error)
        .bind(shop_common::db::interval(lease))
        .bind(&labels)
        .bind(&phases)
        .bind(&details)
        .fetch_one(&self.pool)
        .await?;
        if updated == 0 {
            return Err(LogError::LeaseLost);
        }
        Ok(())
    }

    /// Renews the lease of a saga this driver still holds (at `epoch`); false when
    /// another driver has taken it.
    pub async fn renew(&self, saga_id: SagaId, epoch: i64) -> sqlx::Result<bool> {
        let renewed = sqlx::query(
            "UPDATE sagas SET lease_until = now() + $3 WHERE id = $1 AND epoch = $2 \
             AND state IN ('RUNNING', 'COMPENSATING')",
        )
        .bind(saga_id)
        .bind(epoch)
        .bind(shop_common::db::interval(self.lease))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(renewed == 1)
    }

    /// Gives up every lease `owner` holds (a gateway shutting down): each such saga
    /// moves to the next epoch with no owner and a lease that has run out, so another
    /// instance takes it at once, and whatever of this instance still drives it is
    /// fenced off. Returns how many were handed over.
    pub async fn hand_over(&self, owner: Uuid) -> sqlx::Result<u64> {
        let handed = sqlx::query(
            "UPDATE sagas SET owner = NULL, epoch = epoch + 1, lease_until = now(), updated_at = now() \
             WHERE owner = $1 AND state IN ('RUNNING', 'COMPENSATING')",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(handed.rows_affected())
    }

    /// Claims the unfinished saga whose lease ran out longest ago, if any: it is
    /// leased to `owner` at the next epoch (so the previous driver's writes fail from
    /// now on), and the claim counts as an attempt. Safe with several instances.
    pub async fn claim_next(&self, owner: Uuid) -> sqlx::Result<Option<Saga>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE sagas SET owner = $1, epoch = epoch + 1, attempts = attempts + 1, \
               lease_until = now() + $2, updated_at = now() \
             WHERE id = (SELECT id FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING') AND lease_until < now() \
                         ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING {COLUMNS}"
        )))
        .bind(owner)
        .bind(shop_common::db::interval(self.lease))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|row| from_row(row).map(|r| r.saga))
            .transpose()
    }

    pub async fn get(&self, saga_id: SagaId) -> sqlx::Result<Option<SagaRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sagas WHERE id = $1"
        )))
        .bind(saga_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Newest first, optionally in one state, after `after` (the `(created_at, id)`
    /// of the previous page's last saga): keyset paging on an index, so a page costs
    /// the same however deep it is, and sagas started meanwhile do not shift it.
    pub async fn list(
        &self,
        state: Option<State>,
        limit: i64,
        after: Option<(DateTime<Utc>, Uuid)>,
    ) -> sqlx::Result<Vec<SagaRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sagas WHERE ($1::text IS NULL OR state = $1) \
               AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        )))
        .bind(state.map(State::as_str))
        .bind(limit)
        .bind(after.map(|(at, _)| at))
        .bind(after.map(|(_, id)| id))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Puts a STUCK saga back in the recovery queue with a fresh attempt count.
    pub async fn retry_stuck(&self, saga_id: SagaId) -> sqlx::Result<bool> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE sagas SET state = CASE WHEN outcome IS NULL THEN 'RUNNING' ELSE 'COMPENSATING' END, \
             attempts = 0, epoch = epoch + 1, lease_until = now(), updated_at = now() \
             WHERE id = $1 AND state = 'STUCK'",
        )
        .bind(saga_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 1 {
            append(&mut tx, saga_id, "RETRY", "REQUESTED", "by an operator").await?;
        }
        tx.commit().await?;
        Ok(updated == 1)
    }

    /// How many sagas are not finished (for readiness and tests).
    pub async fn unfinished(&self) -> sqlx::Result<i64> {
        sqlx::query_scalar("SELECT count(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')")
            .fetch_one(&self.pool)
            .await
    }

    /// Open and STUCK sagas, and the age of the oldest open one.
    pub async fn backlog(&self) -> sqlx::Result<Backlog> {
        let (open, stuck, oldest): (i64, i64, Option<f64>) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE state IN ('RUNNING', 'COMPENSATING')), \
                    count(*) FILTER (WHERE state = 'STUCK'), \
                    extract(epoch FROM now() - min(created_at) FILTER (WHERE state IN ('RUNNING', 'COMPENSATING')))::float8 \
             FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING', 'STUCK')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Backlog {
            open,
            stuck,
            oldest_open_age_seconds: oldest.unwrap_or(0.0),
        })
    }

    /// The saga's log records, oldest first.
    pub async fn steps(&self, saga_id: SagaId) -> sqlx::Result<Vec<StepRecord>> {
        sqlx::query_as(
            "SELECT step, phase, detail, at FROM saga_steps WHERE saga_id = $1 ORDER BY seq",
        )
        .bind(saga_id)
        .fetch_all(&self.pool)
        .await
    }
}

async fn append(
    tx: &mut sqlx::PgConnection,
    saga_id: SagaId,
    step: &str,
    phase: &str,
    detail: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO saga_steps (saga_id, step, phase, detail) VALUES ($1, $2, $3, $4)")
        .bind(saga_id)
        .bind(step)
        .bind(phase)
        .bind(detail)
        .execute(tx)
        .await?;
    Ok(())
}

fn from_row(row: &PgRow) -> sqlx::Result<SagaRecord> {
    let text = |name: &str| -> sqlx::Result<String> { row.try_get::<String, _>(name) };
    let bad = |name: &str, value: String| {
        sqlx::Error::Decode(format!("sagas.{name} has unknown value {value:?}").into())
    };
    let kind = text("kind")?;
    let state = text("state")?;
    let step = text("step")?;
    let phase = text("phase")?;
    let fate: Option<String> = row.try_get("outcome")?;
    let state = State::parse(&state).ok_or_else(|| bad("state", state.clone()))?;
    let step = Step::parse(&step).ok_or_else(|| bad("step", step.clone()))?;
    let phase = Phase::parse(&phase).ok_or_else(|| bad("phase", phase.clone()))?;
    Ok(SagaRecord {
        saga: Saga {
            id: row.try_get("id")?,
            order_id: row.try_get("order_id")?,
            user_id: row.try_get("user_id")?,
            kind: Kind::parse(&kind).ok_or_else(|| bad("kind", kind.clone()))?,
            state,
            step,
            phase,
            fate: match fate {
                None => None,
                Some(f) => Some(Fate::parse(&f).ok_or_else(|| bad("outcome", f.clone()))?),
            },
            amount: row.try_get("amount")?,
            coupon_id: row.try_get("coupon_id")?,
            payment_id: row.try_get("payment_id")?,
            discount_amount: row.try_get("discount_amount")?,
            paid_amount: row.try_get("paid_amount")?,
            target_saga_id: row.try_get("target_saga_id")?,
            reason: row.try_get("reason")?,
            attempts: row.try_get("attempts")?,
            last_error: row.try_get("last_error")?,
            epoch: row.try_get("epoch")?,
            logged: Logged { state, step, phase },
            unsaved: Vec::new(),
            seen: Seen::default(),
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        lease_until: row.try_get("lease_until")?,
    })
}

/// Deletes up to `batch` finished (COMPLETED, COMPENSATED) sagas last changed longer
/// than `keep` ago, with their steps, in one statement; returns how many sagas.
pub async fn purge_finished(pool: &PgPool, keep: Duration, batch: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "WITH old AS (
             SELECT id FROM sagas
             WHERE state IN ('COMPLETED', 'COMPENSATED') AND updated_at < now() - $1
             ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED),
         steps AS (DELETE FROM saga_steps WHERE saga_id IN (SELECT id FROM old))
         DELETE FROM sagas WHERE id IN (SELECT id FROM old)",
    )
    .bind(shop_common::db::interval(keep))
    .bind(batch)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
