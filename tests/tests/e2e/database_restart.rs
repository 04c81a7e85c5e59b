//! The Postgres server of one service crashes mid-checkout and comes back. The shared
//! test Postgres serves every test of this binary, so the service under test gets a
//! database on a private server, which is stopped (`pg_ctl -m immediate`, like a
//! crash) and started again. While it is down, callers get UNAVAILABLE or
//! DEADLINE_EXCEEDED within the gateway's budget instead of hanging; once it is back,
//! every interrupted saga ends, every unpaid order can be paid, and the audit is clean.

use std::time::{Duration, Instant};

use futures::future::join_all;
use shop_e2e::{Options, Stack, User};
use shop_proto::{common::OrderStatus, gateway::Order};
use shop_testkit::PgServer;
use tonic::{Code, Status};

use crate::support::{eventually, status_of};

const BUYERS: usize = 6;
/// The gateway's default request budget (10 s), plus the budget a compensation gets of
/// its own (5 s: a payment whose charge timed out is undone before the answer), plus
/// slack for load.
const ANSWER_WITHIN: Duration = Duration::from_secs(18);

#[derive(Clone, Copy)]
enum Victim {
    Order,
    Payment,
}

/// A fresh database on `pg` whose commits survive a crash: the test server runs with
/// synchronous_commit=off, under which a crash may lose commits already acknowledged
/// (no production setup would run so), so it is turned on for this database.
async fn durable_database(pg: &PgServer) -> String {
    let url = pg.fresh_database().await;
    let name = url.rsplit('/').next().unwrap().to_owned();
    let admin = shop_common::db::connect(&pg.url("postgres"), 1)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"ALTER DATABASE "{name}" SET synchronous_commit = on"#
    )))
    .execute(&admin)
    .await
    .unwrap();
    admin.close().await;
    url
}

#[track_caller]
fn unavailable<T: std::fmt::Debug>(result: Result<T, Status>, took: Duration, what: &str) {
    let status = result.expect_err(what);
    assert!(
        matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded),
        "{what}: {status:?}"
    );
    assert!(took < ANSWER_WITHIN, "{what} took {took:?}");
}

async fn timed<T>(call: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let output = call.await;
    (output, started.elapsed())
}

async fn restart_mid_checkouts(victim: Victim) {
    let pg = PgServer::start().unwrap();
    let database = Some(durable_database(&pg).await);
    let options = match victim {
        Victim::Order => Options {
            order_database: database,
            ..Options::default()
        },
        Victim::Payment => Options {
            payment_database: database,
            ..Options::default()
        },
    };
    let stack = Stack::with(options).await.unwrap();
    let admin = stack.admin().await;
    let product = admin.create_product("Lantern", 100, 100).await;
    let mut buyers: Vec<User> = Vec::new();
    let mut placed: Vec<Order> = Vec::new();
    for _ in 0..BUYERS {
        let buyer = stack.user().await;
        admin.top_up(buyer.id, 1_000).await;
        placed.push(buyer.place(&[(&product.id, 1)]).await.unwrap());
        buyers.push(buyer);
    }

    // Every buyer pays their order and checks out another, all at once.
    let traffic = tokio::spawn({
        let (buyers, placed, product) = (buyers.clone(), placed.clone(), product.id.clone());
        async move {
            let items = [(product.as_str(), 2)];
            let pays = buyers.iter().zip(&placed).map(|(b, o)| b.pay(&o.id, ""));
            let checkouts = buyers.iter().map(|b| b.checkout(&items, ""));
            let (pays, checkouts) = tokio::join!(join_all(pays), join_all(checkouts));
            pays.into_iter().chain(checkouts).collect::<Vec<_>>()
        }
    });
    let gateway = shop_common::db::connect(&stack.databases.gateway, 1)
        .await
        .unwrap();
    let started = eventually(Duration::from_secs(10), || async {
        let sagas: i64 = sqlx::query_scalar("SELECT count(*) FROM sagas")
            .fetch_one(&gateway)
            .await
            .unwrap();
        sagas >= 2
    })
    .await;
    assert!(started, "payments are under way");
    tokio::task::block_in_place(|| pg.stop().unwrap());

    // Down: callers hear about it within the budget, whatever they ask.
    let buyer = &buyers[0];
    let mut shop = buyer.shop.clone();
    let one = [(product.id.as_str(), 1)];
    let ((read, read_took), (wallet, wallet_took), (checkout, checkout_took)) = tokio::join!(
        timed(buyer.order(&placed[0].id)),
        timed(shop.get_wallet(shop_proto::gateway::GetWalletRequest {})),
        timed(buyer.checkout(&one, "")),
    );
    match victim {
        Victim::Order => unavailable(read, read_took, "reading an order"),
        Victim::Payment => unavailable(wallet, wallet_took, "reading the wallet"),
    }
    unavailable(checkout, checkout_took, "a checkout");
    tokio::task::block_in_place(|| pg.start_again().unwrap());

    let results = tokio::time::timeout(Duration::from_secs(60), traffic)
        .await
        .expect("every caller got an answer")
        .unwrap();
    for result in &results {
        if let Err(status) = result {
            assert!(
                matches!(
                    status.code(),
                    Code::Unavailable | Code::DeadlineExceeded | Code::Aborted
                ),
                "{status:?}"
            );
        }
    }
    stack.audit().await;

    // Back: every order that is not paid can be paid now, and new checkouts work.
    for buyer in &buyers {
        let orders = buyer.orders().await;
        for order in orders.iter().filter(|o| status_of(o) != OrderStatus::Paid) {
            assert_eq!(status_of(order), OrderStatus::PendingPayment, "{order:?}");
            let paid = buyer.pay(&order.id, "").await.unwrap();
            assert_eq!(status_of(&paid), OrderStatus::Paid);
        }
        let paid = buyer.checkout(&[(&product.id, 1)], "").await.unwrap();
        assert_eq!(status_of(&paid), OrderStatus::Paid);
    }
    stack.audit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_postgres_restarted_mid_checkouts() {
    restart_mid_checkouts(Victim::Order).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_postgres_restarted_mid_checkouts() {
    restart_mid_checkouts(Victim::Payment).await;
}
