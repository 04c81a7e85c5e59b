//! The saga log in the gateway's database: every transition of a saga is one
//! transaction that updates its row (and renews its lease) and appends a step record.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row, postgres::PgRow};
use uuid::Uuid;

use super::model::{Entry, Kind, Outcome, Phase, Saga, State, Step};

/// How long a running saga is owned by whoever runs it; after that recovery may take it.
pub const LEASE: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct SagaLog {
    pool: PgPool,
}

/// A saga as listed for operators.
#[derive(Debug, Clone)]
pub struct SagaRecord {
    pub saga: Saga,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, order_id, user_id, kind, state, step, phase, outcome, amount, coupon_id, payment_id, \
     discount_amount, paid_amount, target_saga_id, reason, attempts, last_error, created_at, updated_at";

impl SagaLog {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Writes a new saga (and its first step record) before any of its steps runs.
    pub async fn create(&self, saga: &Saga) -> sqlx::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sagas (id, order_id, user_id, kind, state, step, phase, coupon_id, target_saga_id, reason, \
             lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + $11)",
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
        .bind(LEASE)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            saga.id,
            saga.step.as_str(),
            saga.phase.as_str(),
            "",
        )
        .await?;
        tx.commit().await
    }

    /// Saves the saga as it is now and appends `entries` to its log, in one
    /// transaction; renews the lease.
    pub async fn record(&self, saga: &Saga, entries: &[Entry]) -> sqlx::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE sagas SET state = $2, step = $3, phase = $4, outcome = $5, amount = $6, payment_id = $7, \
             discount_amount = $8, paid_amount = $9, last_error = $10, attempts = $11, \
             lease_until = now() + $12, updated_at = now() WHERE id = $1",
        )
        .bind(saga.id)
        .bind(saga.state.as_str())
        .bind(saga.step.as_str())
        .bind(saga.phase.as_str())
        .bind(saga.outcome.map(Outcome::as_str))
        .bind(saga.amount)
        .bind(saga.payment_id)
        .bind(saga.discount_amount)
        .bind(saga.paid_amount)
        .bind(&saga.last_error)
        .bind(saga.attempts)
        .bind(LEASE)
        .execute(&mut *tx)
        .await?;
        for entry in entries {
            append(&mut tx, saga.id, &entry.label, entry.phase, &entry.detail).await?;
        }
        tx.commit().await
    }

    /// Lets recovery take the saga at once (used when a request gives up on it).
    pub async fn release_lease(&self, saga_id: Uuid) -> sqlx::Result<()> {
        sqlx::query("UPDATE sagas SET lease_until = now() WHERE id = $1")
            .bind(saga_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claims up to `limit` unfinished sagas whose lease ran out, safely with several
    /// gateway instances: each is taken by one claimer, which counts an attempt.
    pub async fn claim_expired(&self, limit: i64) -> sqlx::Result<Vec<Saga>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE sagas SET lease_until = now() + $2, attempts = attempts + 1, updated_at = now() \
             WHERE id IN (SELECT id FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING') AND lease_until < now() \
                          ORDER BY lease_until LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING {COLUMNS}"
        )))
        .bind(limit)
        .bind(LEASE)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| from_row(row).map(|r| r.saga))
            .collect()
    }

    pub async fn get(&self, saga_id: Uuid) -> sqlx::Result<Option<SagaRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sagas WHERE id = $1"
        )))
        .bind(saga_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Newest first, optionally in one state; `offset` pages.
    pub async fn list(
        &self,
        state: Option<State>,
        limit: i64,
        offset: i64,
    ) -> sqlx::Result<Vec<SagaRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM sagas WHERE ($1::text IS NULL OR state = $1) \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        )))
        .bind(state.map(State::as_str))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Puts a STUCK saga back in the recovery queue with a fresh attempt count.
    pub async fn retry_stuck(&self, saga_id: Uuid) -> sqlx::Result<bool> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE sagas SET state = CASE WHEN outcome IS NULL THEN 'RUNNING' ELSE 'COMPENSATING' END, \
             attempts = 0, lease_until = now(), updated_at = now() WHERE id = $1 AND state = 'STUCK'",
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
}

async fn append(
    tx: &mut sqlx::PgConnection,
    saga_id: Uuid,
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
    let outcome: Option<String> = row.try_get("outcome")?;
    Ok(SagaRecord {
        saga: Saga {
            id: row.try_get("id")?,
            order_id: row.try_get("order_id")?,
            user_id: row.try_get("user_id")?,
            kind: Kind::parse(&kind).ok_or_else(|| bad("kind", kind.clone()))?,
            state: State::parse(&state).ok_or_else(|| bad("state", state.clone()))?,
            step: Step::parse(&step).ok_or_else(|| bad("step", step.clone()))?,
            phase: Phase::parse(&phase).ok_or_else(|| bad("phase", phase.clone()))?,
            outcome: match outcome {
                None => None,
                Some(o) => Some(Outcome::parse(&o).ok_or_else(|| bad("outcome", o.clone()))?),
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
            unsaved: Vec::new(),
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
