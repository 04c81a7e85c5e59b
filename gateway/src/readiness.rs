//! `/readyz`: the gateway is ready when its database and the three services answer.
//! The answer is kept for [`FRESH_FOR`]: however often probes (or anyone else) ask,
//! the dependencies are checked about once a second, and concurrent askers share one
//! check.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use serde::Serialize;
use sqlx::PgPool;
use tokio::{sync::Mutex, time::Instant};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a check's answer is given out again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Readiness {
    pool: PgPool,
    services: Vec<(&'static str, Channel)>,
    last: Arc<Mutex<Option<(Instant, Report)>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ready: bool,
    pub checks: BTreeMap<&'static str, String>,
}

impl Readiness {
    pub fn new(pool: PgPool, services: Vec<(&'static str, Channel)>) -> Self {
        Self {
            pool,
            services,
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// The latest report, checked again when older than [`FRESH_FOR`] (the lock makes
    /// concurrent callers wait for one check instead of each running their own).
    pub async fn check(&self) -> Report {
        let mut last = self.last.lock().await;
        if let Some((at, report)) = last.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return report.clone();
        }
        let report = self.check_now().await;
        *last = Some((Instant::now(), report.clone()));
        report
    }

    async fn check_now(&self) -> Report {
        let mut checks = BTreeMap::new();
        let db = tokio::time::timeout(PROBE_TIMEOUT, crate::store::ping(&self.pool)).await;
        checks.insert("database", verdict(matches!(db, Ok(Ok(_))), "unreachable"));
        let probes = self.services.iter().map(|(name, channel)| async move {
            let mut client = HealthClient::new(channel.clone());
            let answer = tokio::time::timeout(
                PROBE_TIMEOUT,
                client.check(HealthCheckRequest {
                    service: String::new(),
                }),
            )
            .await;
            let serving =
                matches!(&answer, Ok(Ok(r)) if r.get_ref().status() == ServingStatus::Serving);
            (*name, verdict(serving, "not serving"))
        });
        checks.extend(futures::future::join_all(probes).await);
        Report {
            ready: checks.values().all(|v| v == "ok"),
            checks,
        }
    }
}

fn verdict(ok: bool, problem: &str) -> String {
    if ok {
        "ok".to_owned()
    } else {
        problem.to_owned()
    }
}
