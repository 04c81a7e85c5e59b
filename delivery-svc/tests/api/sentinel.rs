//! `REDIS_URL=redis+sentinel://...`: holds go to the master a real Sentinel names.

use std::time::Duration;

use shop_testkit::{PgServer, RedisServer, free_port};

use crate::helpers::{self, eventually, hold_request, id};

/// A Sentinel process watching `master_port` as `mymaster`; killed on drop.
struct Sentinel {
    port: u16,
    _dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

fn start_sentinel(master_port: u16) -> Sentinel {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {master_port} 1\n",
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

#[tokio::test]
async fn holds_work_through_sentinel() {
    let master = RedisServer::start().unwrap();
    let sentinel = start_sentinel(master.port());
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

    let direct = redis::Client::open(master.url()).unwrap();
    let mut conn = direct.get_multiplexed_async_connection().await.unwrap();
    let stored: Option<String> = redis::cmd("GET")
        .arg(format!("delivery:hold:{order_id}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        stored.unwrap().contains(&user_id),
        "the hold is not on the master"
    );
}
