//! `REDIS_URL=redis+sentinel://...`: holds go to the master a real Sentinel names.

use std::time::Duration;

use shop_testkit::{PgServer, RedisServer, free_port};

use crate::helpers::{self, eventually, hold_request, id};

struct Sentinel {
    port: u16,
    _dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

/// A Sentinel process watching `master_port` as `mymaster` (plus `settings`, lines
/// of sentinel.conf); killed on drop.
fn start_sentinel(master_port: u16, settings: &str) -> Sentinel {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {master_port} 1\n{settings}",
            dir.path().display()
        ),
    )
    .expect("sentinel.conf written");
    let child = tokio::process::Command::new("redis-server")
        .arg(&conf)
        .arg("--sentinel")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server --sentinel starts");
    Sentinel {
        port,
        _dir: dir,
        _child: child,
    }
}

async fn connect(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection")
}

/// The hold of `order_id` as stored on the server at `url`, if any.
async fn stored_hold(url: &str, order_id: &str) -> Option<String> {
    let mut conn = connect(url).await;
    redis::cmd("GET")
        .arg(format!("delivery:hold:{order_id}"))
        .query_async(&mut conn)
        .await
        .expect("GET")
}

#[tokio::test]
async fn holds_work_through_sentinel() {
    let master = RedisServer::start().unwrap();
    let sentinel = start_sentinel(master.port(), "");
    let url = format!("redis+sentinel://127.0.0.1:{}/mymaster", sentinel.port);
    let database = PgServer::shared().fresh_database().await;
    let app = helpers::spawn_on(database, url, |_| {}).await;

    let (order_id, user_id) = (id(), id());
    let client = app.client.clone();
    let held = eventually(Duration::from_secs(10), || {
        let mut client = client.clone();
        let request = hold_request(&order_id, &user_id, Duration::from_secs(60));
        async move { client.hold_delivery(request).await.is_ok() }
    })
    .await;
    assert!(held, "no hold through the sentinel");

    let stored = stored_hold(&master.url(), &order_id).await;
    assert!(
        stored.unwrap().contains(&user_id),
        "the hold is not on the master"
    );
}

/// Seed 000's reason for Sentinel: the master dies, Sentinel promotes its replica, and
/// the holds it had replicated are still there; new holds go to the new master.
#[tokio::test]
async fn holds_survive_a_failover_to_the_replica() {
    let master = RedisServer::start().unwrap();
    let replica = RedisServer::start().unwrap();
    let mut to_replica = connect(&replica.url()).await;
    // Load the master's data in memory: the test servers have no data directory.
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("repl-diskless-load")
        .arg("on-empty-db")
        .query_async(&mut to_replica)
        .await
        .unwrap();
    let () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port())
        .query_async(&mut to_replica)
        .await
        .unwrap();
    let linked = eventually(Duration::from_secs(10), || {
        let mut conn = to_replica.clone();
        async move {
            let info: String = redis::cmd("INFO")
                .arg("replication")
                .query_async(&mut conn)
                .await
                .unwrap_or_default();
            info.contains("master_link_status:up")
        }
    })
    .await;
    assert!(linked, "the replica never synced with the master");

    let sentinel = start_sentinel(
        master.port(),
        "sentinel down-after-milliseconds mymaster 500\nsentinel failover-timeout mymaster 5000\n",
    );
    let sentinel_url = format!("redis://127.0.0.1:{}", sentinel.port);
    let knows_replica = eventually(Duration::from_secs(15), || {
        let url = sentinel_url.clone();
        async move {
            let Ok(client) = redis::Client::open(url) else {
                return false;
            };
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                return false;
            };
            let replicas: Vec<redis::Value> = redis::cmd("SENTINEL")
                .arg("REPLICAS")
                .arg("mymaster")
                .query_async(&mut conn)
                .await
                .unwrap_or_default();
            !replicas.is_empty()
        }
    })
    .await;
    assert!(knows_replica, "the sentinel never saw the replica");

    let url = format!("redis+sentinel://127.0.0.1:{}/mymaster", sentinel.port);
    let database = PgServer::shared().fresh_database().await;
    let app = helpers::spawn_on(database, url, |_| {}).await;
    let hold = |order_id: String, user_id: String| {
        let mut client = app.client.clone();
        async move {
            let request = hold_request(&order_id, &user_id, Duration::from_secs(600));
            client.hold_delivery(request).await.is_ok()
        }
    };
    let (before, user_id) = (id(), id());
    let held = eventually(Duration::from_secs(10), || {
        hold(before.clone(), user_id.clone())
    })
    .await;
    assert!(held, "no hold through the sentinel");
    let replicated = eventually(Duration::from_secs(10), || {
        let (url, order_id) = (replica.url(), before.clone());
        async move { stored_hold(&url, &order_id).await.is_some() }
    })
    .await;
    assert!(replicated, "the hold never reached the replica");

    master.stop().unwrap();
    let after = id();
    let held = eventually(Duration::from_secs(30), || {
        hold(after.clone(), user_id.clone())
    })
    .await;
    assert!(held, "no hold after the failover");
    assert!(
        stored_hold(&replica.url(), &after).await.is_some(),
        "the new hold is not on the promoted replica"
    );
    let kept = app
        .client
        .clone()
        .get_hold(shop_proto::delivery::GetHoldRequest {
            order_id: before.clone(),
        })
        .await
        .expect("the hold from before the failover is still there")
        .into_inner();
    assert_eq!(kept.user_id, user_id);
}
