//! The REST listener against slow and idle clients (slowloris), and `/readyz` served
//! from a check about a second old.

use std::time::Duration;

use shop_e2e::{Options, Stack};
use shop_testkit::Fault;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Whether the server closes `stream` within `within` (reads until EOF or reset).
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read).await.is_ok()
}

fn limited() -> Options {
    Options {
        gateway_config: |config| {
            config.http_max_connections = 4;
            config.http_header_timeout = Duration::from_secs(1);
            config.http_idle_timeout = Duration::from_secs(1);
        },
        ..Options::default()
    }
}

#[tokio::test]
async fn slow_clients_cannot_hold_the_listener() {
    let stack = Stack::with(limited()).await.unwrap();
    let health = format!("http://{}/healthz", stack.gateway_http);
    // Four clients that send half a request and then nothing: the cap is reached.
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(stack.gateway_http).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::new();
    let waiting = client
        .get(&health)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(waiting.is_err(), "a fifth connection waits for a free slot");
    // Their headers never complete: the server closes them, freeing the slots.
    for stream in &mut slow {
        assert!(
            closed_by_server(stream, Duration::from_secs(5)).await,
            "a slow client is cut off after the header timeout"
        );
    }
    let served = client.get(&health).send().await.unwrap();
    assert_eq!(served.status(), 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let stack = Stack::with(limited()).await.unwrap();
    let mut stream = TcpStream::connect(stack.gateway_http).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "answered and kept alive"
    );
    assert!(
        closed_by_server(&mut stream, Duration::from_secs(5)).await,
        "an idle connection is closed after the idle timeout"
    );
}

#[tokio::test]
async fn readiness_is_checked_about_once_a_second() {
    let stack = Stack::with(Options {
        faults: true,
        ..Options::default()
    })
    .await
    .unwrap();
    let anonymous = shop_e2e::Rest::without_token(stack.gateway_http);
    assert_eq!(anonymous.get("/readyz").await.0, 200);
    // delivery-svc goes away: the answer of the check just made still stands...
    stack.faults().delivery.set(Fault::Refuse);
    let (status, body) = anonymous.get("/readyz").await;
    assert_eq!(status, 200, "served from the last check: {body}");
    // ...until it is a second old.
    let noticed = crate::support::eventually(Duration::from_secs(5), || async {
        anonymous.get("/readyz").await.0 == 503
    })
    .await;
    assert!(noticed, "a fresh check reports delivery-svc not ready");
    stack.faults().delivery.set(Fault::Pass);
}
