//! What operators see of the saga log, the parked events and the audit trail:
//! listing, one saga with its step timeline, and putting a STUCK saga back into
//! recovery.

use chrono::{DateTime, Utc};
use shop_common::validate::Violations;
use shop_proto::gateway::{
    GetSagaRequest, ListAuditEventsRequest, ListAuditEventsResponse, ListParkedEventsRequest,
    ListParkedEventsResponse, ListSagasRequest, ListSagasResponse, RetrySagaRequest, Saga,
    SagaDetail, SagaState,
};
use uuid::Uuid;

use super::{Gateway, convert, shop::one_id};
use crate::{
    error::{Error, Result},
    store::parked,
};

const MAX_PAGE: i32 = 200;
const DEFAULT_PAGE: i64 = 50;

impl Gateway {
    pub(crate) async fn saga_page(&self, r: ListSagasRequest) -> Result<ListSagasResponse> {
        let mut v = Violations::new();
        let state = SagaState::try_from(r.state).ok();
        v.check(state.is_some(), "state", "unknown saga state");
        let (limit, _) = page(&mut v, r.page_size, "");
        let after = saga_cursor(&mut v, &r.page_token);
        v.finish()?;
        let records = self
            .parts()
            .sagas
            .list(state.and_then(convert::saga_state), limit, after)
            .await
            .map_err(Error::database("the saga log"))?;
        let full = i64::try_from(records.len()).unwrap_or(i64::MAX) == limit;
        let next_page_token = match records.last() {
            Some(last) if full => saga_token(last.created_at, last.saga.id.0),
            _ => String::new(),
        };
        Ok(ListSagasResponse {
            next_page_token,
            sagas: records.into_iter().map(convert::saga).collect(),
        })
    }

    pub(crate) async fn saga_detail(&self, r: GetSagaRequest) -> Result<SagaDetail> {
        let saga_id = one_id("saga_id", &r.saga_id)?;
        let log = &self.parts().sagas;
        let record = log
            .get(saga_id)
            .await
            .map_err(Error::database("the saga log"))?
            .ok_or(Error::SagaNotFound(saga_id))?;
        let steps = log
            .steps(saga_id)
            .await
            .map_err(Error::database("the saga log"))?;
        Ok(SagaDetail {
            saga: Some(convert::saga(record)),
            steps: steps.into_iter().map(convert::saga_step).collect(),
        })
    }

    pub(crate) async fn retry_stuck(&self, r: RetrySagaRequest) -> Result<Saga> {
        let saga_id = one_id("saga_id", &r.saga_id)?;
        let log = &self.parts().sagas;
        let retried = log
            .retry_stuck(saga_id)
            .await
            .map_err(Error::database("the saga log"))?;
        let record = log
            .get(saga_id)
            .await
            .map_err(Error::database("the saga log"))?
            .ok_or(Error::SagaNotFound(saga_id))?;
        if !retried {
            return Err(Error::NotStuck(record.saga.state.as_str()));
        }
        Ok(convert::saga(record))
    }

    pub(crate) async fn parked_page(
        &self,
        r: ListParkedEventsRequest,
    ) -> Result<ListParkedEventsResponse> {
        let mut v = Violations::new();
        let (limit, offset) = page(&mut v, r.page_size, &r.page_token);
        v.finish()?;
        let events = parked::list(&self.parts().pool, r.include_resolved, limit, offset)
            .await
            .map_err(Error::database("the gateway database"))?;
        Ok(ListParkedEventsResponse {
            next_page_token: next_token(events.len(), limit, offset),
            events: events.into_iter().map(convert::parked).collect(),
        })
    }
}

impl Gateway {
    pub(crate) async fn audit_page(
        &self,
        r: ListAuditEventsRequest,
    ) -> Result<ListAuditEventsResponse> {
        let mut v = Violations::new();
        let (limit, _) = page(&mut v, r.page_size, "");
        let admin = v.optional_uuid("admin_id", &r.admin_id);
        let before = if r.page_token.is_empty() {
            None
        } else {
            let id = r.page_token.parse::<i64>().ok().filter(|id| *id > 0);
            v.check(
                id.is_some(),
                "page_token",
                "is not a token from a previous page",
            );
            id
        };
        v.finish()?;
        let events = self
            .parts()
            .audit
            .list(admin, before, limit)
            .await
            .map_err(Error::database("the audit trail"))?;
        let full = i64::try_from(events.len()).unwrap_or(i64::MAX) == limit;
        let next_page_token = match events.last() {
            Some(last) if full => last.id.to_string(),
            _ => String::new(),
        };
        Ok(ListAuditEventsResponse {
            next_page_token,
            events: events.into_iter().map(convert::audit_event).collect(),
        })
    }
}

/// The page size and offset of a list request (checked into `v`).
fn page(v: &mut Violations, page_size: i32, token: &str) -> (i64, i64) {
    v.check(
        (0..=MAX_PAGE).contains(&page_size),
        "page_size",
        format!("must be 0..={MAX_PAGE}"),
    );
    let offset = if token.is_empty() {
        Some(0)
    } else {
        token.parse::<i64>().ok().filter(|o| *o >= 0)
    };
    v.check(
        offset.is_some(),
        "page_token",
        "is not a token from a previous page",
    );
    let limit = if page_size <= 0 {
        DEFAULT_PAGE
    } else {
        i64::from(page_size)
    };
    (limit, offset.unwrap_or(0))
}

/// A ListSagas page token: the `(created_at, id)` of the last saga of the page, as
/// `<microseconds since the epoch>.<id>`.
fn saga_token(created_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}.{id}", created_at.timestamp_micros())
}

/// The position a ListSagas token names (checked into `v`); none for the first page.
fn saga_cursor(v: &mut Violations, token: &str) -> Option<(DateTime<Utc>, Uuid)> {
    if token.is_empty() {
        return None;
    }
    let parsed = token.split_once('.').and_then(|(micros, id)| {
        let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        Some((at, Uuid::try_parse(id).ok()?))
    });
    v.check(
        parsed.is_some(),
        "page_token",
        "is not a token from a previous page",
    );
    parsed
}

fn next_token(returned: usize, limit: i64, offset: i64) -> String {
    if i64::try_from(returned).unwrap_or(i64::MAX) == limit {
        (offset + limit).to_string()
    } else {
        String::new()
    }
}
