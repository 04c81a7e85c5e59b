//! `shopctl health`, the images' HEALTHCHECK, run as a container engine runs it: the
//! real binary against a real `grpc.health.v1` server on loopback, judged by its exit
//! status (0 healthy, 1 not; Docker reserves 2).

use std::{net::SocketAddr, path::PathBuf, process::Output, time::Duration};

use tokio::{net::TcpListener, process::Command, sync::OnceCell};
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;

use crate::tools::{repo, run_with};

/// The probe's own deadline is 2 s; this bounds a run of the binary.
const RUN_DEADLINE: Duration = Duration::from_secs(20);

/// `cargo build -p gateway --bin shopctl` (once; quick when it is up to date) and the
/// executable it reports: `cargo test` does not build the gateway's binaries.
async fn shopctl() -> &'static PathBuf {
    static BIN: OnceCell<PathBuf> = OnceCell::const_new();
    BIN.get_or_init(|| async {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let args = [
            "build",
            "-p",
            "gateway",
            "--bin",
            "shopctl",
            "--message-format=json",
        ];
        let out = run_with(cargo.as_ref(), &args, &repo(), Duration::from_secs(600)).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["target"]["name"] == "shopctl")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no shopctl executable")
    })
    .await
}

/// A health server on a free loopback port, reporting `status` for the whole server,
/// until the test ends.
async fn health_server(status: ServingStatus) -> SocketAddr {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter.set_service_status("", status).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _reporter = reporter;
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
    });
    addr
}

async fn probe(args: &[String], listen_addr: Option<String>) -> Output {
    let mut command = Command::new(shopctl().await);
    command
        .arg("health")
        .args(args)
        .env_remove("LISTEN_ADDR")
        .kill_on_drop(true);
    if let Some(addr) = listen_addr {
        command.env("LISTEN_ADDR", addr);
    }
    tokio::time::timeout(RUN_DEADLINE, command.output())
        .await
        .expect("shopctl health did not end")
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_serving_server_is_healthy_by_address_or_by_its_listen_addr() {
    let addr = health_server(ServingStatus::Serving).await;
    let out = probe(&[addr.to_string()], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SERVING"));

    // The container's own LISTEN_ADDR, a wildcard: probed on loopback.
    let out = probe(&[], Some(format!("0.0.0.0:{}", addr.port()))).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test]
async fn a_server_that_is_not_serving_or_not_there_is_unhealthy() {
    let addr = health_server(ServingStatus::NotServing).await;
    let out = probe(&[addr.to_string()], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("NOT_SERVING"), "{}", stderr(&out));

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let out = probe(&[closed.to_string()], None).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[tokio::test]
async fn without_an_address_or_listen_addr_it_says_what_is_missing() {
    let out = probe(&[], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("LISTEN_ADDR is not set"),
        "{}",
        stderr(&out)
    );

    let out = probe(&["order-svc".into()], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("host:port"), "{}", stderr(&out));
}
