//! What operators see of the saga log and the parked events: listing, one saga with
//! its step timeline, and putting a STUCK saga back into recovery.

use shop_common::{status, validate::Violations};
use shop_proto::{
    common::ErrorReason,
    gateway::{
        GetSagaRequest, ListParkedEventsRequest, ListParkedEventsResponse, ListSagasRequest,
        ListSagasResponse, RetrySagaRequest, Saga, SagaDetail, SagaState,
    },
};
use tonic::{Code, Status};
use uuid::Uuid;

use super::{Gateway, convert};
use crate::store::parked;

const MAX_PAGE: i32 = 200;
const DEFAULT_PAGE: i64 = 50;

impl Gateway {
    pub(crate) async fn saga_page(&self, r: ListSagasRequest) -> Result<ListSagasResponse, Status> {
        let mut v = Violations::new();
        let state = SagaState::try_from(r.state).ok();
        v.check(state.is_some(), "state", "unknown saga state");
        let (limit, offset) = page(&mut v, r.page_size, &r.page_token);
        v.finish()?;
        let records = self
            .engine
            .log()
            .list(state.and_then(convert::saga_state), limit, offset)
            .await
            .map_err(|err| status::unavailable("the saga log", &err))?;
        Ok(ListSagasResponse {
            next_page_token: next_token(records.len(), limit, offset),
            sagas: records.into_iter().map(convert::saga).collect(),
        })
    }

    pub(crate) async fn saga_detail(&self, r: GetSagaRequest) -> Result<SagaDetail, Status> {
        let saga_id = saga_id(&r.saga_id)?;
        let log = self.engine.log();
        let record = log
            .get(saga_id)
            .await
            .map_err(|err| status::unavailable("the saga log", &err))?
            .ok_or_else(|| saga_not_found(saga_id))?;
        let steps = log
            .steps(saga_id)
            .await
            .map_err(|err| status::unavailable("the saga log", &err))?;
        Ok(SagaDetail {
            saga: Some(convert::saga(record)),
            steps: steps.into_iter().map(convert::saga_step).collect(),
        })
    }

    pub(crate) async fn retry_stuck(&self, r: RetrySagaRequest) -> Result<Saga, Status> {
        let saga_id = saga_id(&r.saga_id)?;
        let log = self.engine.log();
        let retried = log
            .retry_stuck(saga_id)
            .await
            .map_err(|err| status::unavailable("the saga log", &err))?;
        let record = log
            .get(saga_id)
            .await
            .map_err(|err| status::unavailable("the saga log", &err))?
            .ok_or_else(|| saga_not_found(saga_id))?;
        if !retried {
            return Err(status::error(
                Code::FailedPrecondition,
                ErrorReason::InvalidState,
                format!(
                    "only a STUCK saga can be retried; this one is {}",
                    record.saga.state.as_str()
                ),
            ));
        }
        Ok(convert::saga(record))
    }

    pub(crate) async fn parked_page(
        &self,
        r: ListParkedEventsRequest,
    ) -> Result<ListParkedEventsResponse, Status> {
        let mut v = Violations::new();
        let (limit, offset) = page(&mut v, r.page_size, &r.page_token);
        v.finish()?;
        let events = parked::list(&self.pool, r.include_resolved, limit, offset)
            .await
            .map_err(|err| status::unavailable("the gateway database", &err))?;
        Ok(ListParkedEventsResponse {
            next_page_token: next_token(events.len(), limit, offset),
            events: events.into_iter().map(convert::parked).collect(),
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

fn next_token(returned: usize, limit: i64, offset: i64) -> String {
    if i64::try_from(returned).unwrap_or(i64::MAX) == limit {
        (offset + limit).to_string()
    } else {
        String::new()
    }
}

fn saga_id(raw: &str) -> Result<Uuid, Status> {
    let mut v = Violations::new();
    let id = v.uuid("saga_id", raw);
    v.finish()?;
    id.ok_or_else(|| Status::internal("a validated id is missing"))
}

fn saga_not_found(saga_id: Uuid) -> Status {
    status::error(
        Code::NotFound,
        ErrorReason::NotFound,
        format!("saga {saga_id} not found"),
    )
}
