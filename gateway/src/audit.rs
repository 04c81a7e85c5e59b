//! The admin audit trail (`admin_audit`): who did what to which target, when, within
//! which request, and how it ended. Written for every admin write and for admin
//! actions on a user's order (pay, cancel, confirm receipt). The row is written
//! before the action runs, so an action is never left unaudited: if the trail cannot
//! be written, the action is refused (UNAVAILABLE) having done nothing. Details are
//! the request's figures and ids, never personal data.

use std::time::Duration;

use shop_common::status;
use sqlx::PgPool;
use tonic::Status;

use crate::{
    auth::Caller,
    clients::Deadline,
    error::Error,
    store::audit::{self as trail, Begun},
};

pub use crate::store::audit::Event;

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

/// Entries one purge deletes at most.
const PURGE_BATCH: i64 = 1000;

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
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let row = Begun {
            admin: admin.user_id.0,
            request_id: deadline.request_id(),
            action: action.name,
            target: &action.target,
            detail: &action.detail,
        };
        let id = trail::begin(&self.pool, &row)
            .await
            .map_err(Error::database("the audit trail"))?;
        // The outcome is recorded as the caller is told it.
        let result = work.await.map_err(Status::from);
        let outcome = match &result {
            Ok(_) => "OK".to_owned(),
            Err(s) => match status::reason(s) {
                Some(reason) => format!("{:?}: {reason}", s.code()),
                None => format!("{:?}", s.code()),
            },
        };
        if let Err(err) = trail::end(&self.pool, id, &outcome).await {
            tracing::warn!(error = %err, audit_id = id, "cannot record how an audited action ended; it stays STARTED");
        }
        result.map_err(Error::Answer)
    }

    /// Newest first, after `before` (an id from the previous page), optionally of one
    /// admin.
    pub async fn list(
        &self,
        admin: Option<uuid::Uuid>,
        before: Option<i64>,
        limit: i64,
    ) -> sqlx::Result<Vec<Event>> {
        trail::list(&self.pool, admin, before, limit).await
    }

    /// Deletes entries older than `keep`; returns how many.
    pub async fn purge(&self, keep: Duration) -> sqlx::Result<u64> {
        trail::purge(&self.pool, keep, PURGE_BATCH).await
    }
}
