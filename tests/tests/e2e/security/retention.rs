//! The system's own logs do not grow forever, and listing them stays cheap: finished
//! sagas go after LOG_RETENTION (never an unfinished or STUCK one), and ListSagas
//! pages by position, not by offset.

use std::{collections::HashSet, time::Duration};

use shop_e2e::{Options, Stack};
use shop_proto::gateway::ListSagasRequest;
use tonic::Code;

use crate::{
    partial::pool,
    support::{assert_invalid, eventually},
};

async fn count(pool: &sqlx::PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn finished_sagas_go_after_the_retention_and_stuck_ones_stay() {
    let stack = Stack::with(Options {
        gateway_config: |config| config.log_retention = Duration::from_millis(500),
        ..Options::default()
    })
    .await
    .unwrap();
    let (admin, buyer) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Kept", 100, 10).await.id;
    let gateway = pool(&stack.databases.gateway).await;
    // A STUCK saga, as an operator would find one (arranged directly: its cause does
    // not matter here), and its log.
    let order = buyer.place(&[(&product, 1)]).await.unwrap();
    let stuck = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO sagas (id, order_id, user_id, kind, state, step, phase, lease_until, \
         updated_at) VALUES ($1, $2, $3, 'PAY', 'STUCK', 'FINISH', 'STARTED', now(), \
         now() - interval '1 day')",
    )
    .bind(stuck)
    .bind(uuid::Uuid::parse_str(&order.id).unwrap())
    .bind(buyer.id)
    .execute(&gateway)
    .await
    .unwrap();
    admin.top_up(buyer.id, 1_000).await;
    buyer.checkout(&[(&product, 1)], "").await.unwrap();
    let poor = stack.user().await;
    assert!(
        poor.checkout(&[(&product, 1)], "").await.is_err(),
        "compensated"
    );

    let gone = eventually(Duration::from_secs(15), || async {
        count(&gateway, "SELECT count(*) FROM sagas").await == 1
    })
    .await;
    assert!(gone, "the completed and the compensated saga are deleted");
    let left: uuid::Uuid = sqlx::query_scalar("SELECT id FROM sagas")
        .fetch_one(&gateway)
        .await
        .unwrap();
    assert_eq!(left, stuck, "the STUCK saga stays for its operator");
    assert_eq!(
        count(&gateway, "SELECT count(*) FROM saga_steps").await,
        0,
        "their steps went with them"
    );
    // (No invariant audit: it rightly reports the arranged STUCK saga.)
}

#[tokio::test]
async fn list_sagas_pages_by_position_so_new_sagas_do_not_shift_pages() {
    let stack = Stack::start().await.unwrap();
    let (admin, buyer) = (stack.admin().await, stack.user().await);
    let product = admin.create_product("Paged", 100, 100).await.id;
    admin.top_up(buyer.id, 10_000).await;
    for _ in 0..5 {
        buyer.checkout(&[(&product, 1)], "").await.unwrap();
    }
    let page = |token: String| {
        let mut ops = admin.admin.clone();
        async move {
            ops.list_sagas(ListSagasRequest {
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .map(tonic::Response::into_inner)
        }
    };
    let first = page(String::new()).await.unwrap();
    // A saga started between two pages (newest, so it would shift an offset page).
    buyer.checkout(&[(&product, 1)], "").await.unwrap();
    let mut seen: Vec<String> = first.sagas.iter().map(|s| s.id.clone()).collect();
    let mut token = first.next_page_token;
    while !token.is_empty() {
        let next = page(token).await.unwrap();
        seen.extend(next.sagas.iter().map(|s| s.id.clone()));
        token = next.next_page_token;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        seen.len(),
        5,
        "the five sagas of the first listing, each once: {seen:?}"
    );
    assert_eq!(unique.len(), 5);
    let status = assert_invalid(page("12".into()).await, "page_token");
    assert_eq!(status.code(), Code::InvalidArgument);
}
