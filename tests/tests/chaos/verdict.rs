//! After the nemesis has stopped and the faults are healed: every saga ends within a
//! bound, every received delivery's order is RECEIVED (the event consumer did not
//! stall), the invariant audit is clean, no saga needs an operator, every client told
//! PAID has its order paid (or cancelled by its own request), every client told
//! PAYMENT_IN_PROGRESS has its order finished one way or the other (never back to
//! unpaid), and every order whose every payment attempt was definitely refused has no
//! charge.

use std::{collections::HashMap, time::Duration};

use shop_e2e::audit::Audit;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    cluster::Cluster,
    workload::{Journal, Told},
};

/// How long the sagas have to end once everything is reachable again.
pub const SETTLE: Duration = Duration::from_secs(90);

pub async fn violations(cluster: &Cluster, journal: &Journal) -> Vec<String> {
    let audit = Audit::connect(&cluster.databases, &cluster.redis_url()).await;
    let gateway = pool(&cluster.databases.gateway).await;
    let mut found = Vec::new();
    if !sagas_end(&gateway).await {
        let open: Vec<(Uuid, String, String, String)> = sqlx::query_as(
            "SELECT id, state, step, last_error FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')",
        )
        .fetch_all(&gateway)
        .await
        .unwrap_or_default();
        found.push(format!(
            "{} saga(s) still open {SETTLE:?} after the faults healed: {open:?}",
            open.len()
        ));
    }
    found.extend(receipts_applied(cluster).await);
    found.extend(audit.violations().await);
    for (saga, reason) in audit.stuck_sagas().await {
        found.push(format!("saga {saga} is STUCK: {reason}"));
    }
    found.extend(promises(cluster, journal).await);
    found
}

async fn pool(url: &str) -> PgPool {
    shop_common::db::connect(url, 2).await.expect("connect")
}

async fn sagas_end(gateway: &PgPool) -> bool {
    let deadline = tokio::time::Instant::now() + SETTLE;
    while tokio::time::Instant::now() < deadline {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')",
        )
        .fetch_one(gateway)
        .await
        .unwrap_or(i64::MAX);
        if open == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

/// Waits (bounded) for every RECEIVED delivery's order to be RECEIVED; lists the others.
async fn receipts_applied(cluster: &Cluster) -> Vec<String> {
    let order = pool(&cluster.databases.order).await;
    let delivery = pool(&cluster.databases.delivery).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let received: Vec<Uuid> =
            sqlx::query_scalar("SELECT order_id FROM deliveries WHERE status = 'RECEIVED'")
                .fetch_all(&delivery)
                .await
                .unwrap_or_default();
        let behind: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT id, status FROM orders WHERE id = ANY($1) AND status <> 'RECEIVED'",
        )
        .bind(&received)
        .fetch_all(&order)
        .await
        .unwrap_or_default();
        if behind.is_empty() {
            return Vec::new();
        }
        if tokio::time::Instant::now() >= deadline {
            return behind
                .into_iter()
                .map(|(id, status)| {
                    format!("order {id}: its delivery was RECEIVED, the order is {status}")
                })
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What the clients were told, held against how their orders ended.
async fn promises(cluster: &Cluster, journal: &Journal) -> Vec<String> {
    let order = pool(&cluster.databases.order).await;
    let payment = pool(&cluster.databases.payment).await;
    let statuses: HashMap<Uuid, String> =
        sqlx::query_as::<_, (Uuid, String)>("SELECT id, status FROM orders")
            .fetch_all(&order)
            .await
            .unwrap_or_default()
            .into_iter()
            .collect();
    let charged: Vec<Uuid> =
        sqlx::query_scalar("SELECT order_id FROM payments WHERE status = 'CHARGED'")
            .fetch_all(&payment)
            .await
            .unwrap_or_default();
    let told = journal.told.lock().unwrap_or_else(|p| p.into_inner());
    let mut found = Vec::new();
    for (id, answers) in told.iter() {
        let Ok(uuid) = Uuid::parse_str(id) else {
            continue;
        };
        let status = statuses.get(&uuid).map_or("MISSING", String::as_str);
        let told_cancelled = answers.contains(&Told::Cancelled);
        let cancel_asked = told_cancelled || answers.contains(&Told::CancelAsked);
        if told_cancelled && status != "CANCELLED" {
            found.push(format!(
                "order {id}: a client was told CANCELLED, it ended {status} ({answers:?})"
            ));
        }
        if answers.contains(&Told::Paid) {
            let kept =
                matches!(status, "PAID" | "RECEIVED") || (cancel_asked && status == "CANCELLED");
            if !kept {
                found.push(format!(
                    "order {id}: a client was told PAID, it ended {status} ({answers:?})"
                ));
            }
        }
        if answers.contains(&Told::Accepted) {
            let finished = matches!(status, "PAID" | "RECEIVED" | "FAILED")
                || (cancel_asked && status == "CANCELLED");
            if !finished {
                found.push(format!(
                    "order {id}: a client was told its payment goes through, it ended {status} ({answers:?})"
                ));
            }
        }
        let refused_every_time = !answers.is_empty()
            && answers
                .iter()
                .all(|t| matches!(t, Told::Refused(_) | Told::Cancelled | Told::CancelAsked));
        if refused_every_time && answers.iter().any(|t| matches!(t, Told::Refused(_))) {
            if charged.contains(&uuid) {
                found.push(format!(
                    "order {id}: every payment was refused, yet it has a charge ({answers:?})"
                ));
            }
            if matches!(status, "PAID" | "RECEIVED") {
                found.push(format!(
                    "order {id}: every payment was refused, yet it is {status} ({answers:?})"
                ));
            }
        }
    }
    found
}
