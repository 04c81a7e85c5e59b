//! The admin audit trail (`admin_audit`): who did what to which target, when, within
//! which request, and how it ended. Written for every admin write and for admin
//! actions on a user's order (pay, cancel, confirm receipt). The row is written
//! before the action runs, so an action is never left unaudited: if the trail cannot
//! be written, the action is refused (UNAVAILABLE) having done nothing. Details are
//! the request's figures and ids, never personal data.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shop_common::{db, status};
use sqlx::PgPool;
use tonic::Status;
use uuid::Uuid;

use crate::{auth::Caller, clients::Deadline};

/// One action about to run.
#[derive(Debug, Clone)]
pub struct Action {
    pub name: &'static str,
    /// `kind:id`, e.g. `product:<uuid>`.
    pub target: String,
    pub detail: String,
}

impl Action {
    pub fn new(name: &'static str, target: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name,
            target: target.into(),
            detail: detail.into(),
        }
    }
}

/// A row of the trail.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub admin_id: Uuid,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub request_id: Uuid,
    pub outcome: String,
    pub at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct Audit {
    pool: PgPool,
}

impl Audit {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Runs `action` by `admin` as `work`, recorded before it starts and updated with
    /// its outcome once it ends.
    pub async fn record<T>(
        &self,
        admin: &Caller,
        deadline: Deadline,
        action: Action,
        work: impl Future<Output = Result<T, Status>>,
    ) -> Result<T, Status> {
        let id = self
            .begin(admin.user_id, deadline.request_id(), &action)
            .await?;
        let result = work.await;
        let outcome = match &result {
            Ok(_) => "OK".to_owned(),
            Err(s) => match status::reason(s) {
                Some(reason) => format!("{:?}: {reason}", s.code()),
                None => format!("{:?}", s.code()),
            },
        };
        self.end(id, &outcome).await;
        result
    }

    async fn begin(&self, admin: Uuid, request_id: Uuid, action: &Action) -> Result<i64, Status> {
        sqlx::query_scalar(
            "INSERT INTO admin_audit (admin_id, action, target, detail, request_id) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(admin)
        .bind(action.name)
        .bind(&action.target)
        .bind(&action.detail)
        .bind(request_id)
        .fetch_one(&self.pool)
        .await
        .map_err(|err| status::unavailable("the audit trail", &err))
    }

    async fn end(&self, id: i64, outcome: &str) {
        let ended =
            sqlx::query("UPDATE admin_audit SET outcome = $2, ended_at = now() WHERE id = $1")
                .bind(id)
                .bind(outcome)
                .execute(&self.pool)
                .await;
        if let Err(err) = ended {
            tracing::warn!(error = %err, audit_id = id, "cannot record how an audited action ended; it stays STARTED");
        }
    }

    /// Newest first, after `before` (an id from the previous page), optionally of one
    /// admin.
    pub async fn list(
        &self,
        admin: Option<Uuid>,
        before: Option<i64>,
        limit: i64,
    ) -> sqlx::Result<Vec<Event>> {
        sqlx::query_as(
            "SELECT id, admin_id, action, target, detail, request_id, outcome, at, ended_at \
             FROM admin_audit WHERE ($1::uuid IS NULL OR admin_id = $1) \
               AND ($2::bigint IS NULL OR id < $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(admin)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Deletes entries older than `keep`; returns how many.
    pub async fn purge(&self, keep: Duration) -> sqlx::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM admin_audit WHERE id IN \
             (SELECT id FROM admin_audit WHERE at < now() - $1 ORDER BY at LIMIT 1000)",
        )
        .bind(db::interval(keep))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
