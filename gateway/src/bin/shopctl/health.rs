//! `shopctl health [HOST:PORT]`: asks a server's `grpc.health.v1.Health` whether it is
//! SERVING. It is the container images' health check (their runtime has no shell and
//! no curl), so without an address it probes the `LISTEN_ADDR` of its own container,
//! on loopback when that address is a wildcard (`0.0.0.0`, `[::]`).
//!
//! Exit status as a container engine reads it: 0 serving, 1 anything else (2 is
//! reserved by Docker's HEALTHCHECK).

use std::{
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
    process::ExitCode,
    time::Duration,
};

use shop_common::config::{self, ProcessEnv};
use tonic::transport::Endpoint;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// The whole probe, connecting included: a health check must answer before the
/// engine's own timeout (the Dockerfile gives it 3 s).
const DEADLINE: Duration = Duration::from_secs(2);

pub fn main(args: &[String]) -> ExitCode {
    match run(args) {
        Ok(addr) => {
            println!("{addr}: SERVING");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("shopctl health: {err}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &[String]) -> Result<SocketAddr, String> {
    let addr = match args {
        [] => {
            let raw = config::required(&ProcessEnv, "LISTEN_ADDR")
                .map_err(|e| format!("{e} (or pass HOST:PORT)"))?;
            parse(&raw, "LISTEN_ADDR")?
        }
        [raw] => parse(raw, "the address")?,
        _ => return Err("usage: shopctl health [HOST:PORT]".into()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime.block_on(check(addr))?;
    Ok(addr)
}

fn parse(raw: &str, what: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = raw
        .parse()
        .map_err(|_| format!("{what} must be host:port, got {raw:?}"))?;
    Ok(match addr {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, v4.port()))
        }
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, v6.port()))
        }
        other => other,
    })
}

async fn check(addr: SocketAddr) -> Result<(), String> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("{addr}: {e}"))?
        .connect_timeout(DEADLINE)
        .timeout(DEADLINE);
    let probe = async {
        let channel = endpoint.connect().await.map_err(|e| e.to_string())?;
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|answer| answer.into_inner().status())
            .map_err(|status| status.message().to_owned())
    };
    match tokio::time::timeout(DEADLINE, probe).await {
        Ok(Ok(ServingStatus::Serving)) => Ok(()),
        Ok(Ok(other)) => Err(format!("{addr}: {}", other.as_str_name())),
        Ok(Err(err)) => Err(format!("{addr}: {err}")),
        Err(_) => Err(format!("{addr}: no answer within {DEADLINE:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_become_loopback_and_bad_addresses_are_refused() {
        assert_eq!(
            parse("0.0.0.0:50051", "x"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 50051)))
        );
        assert_eq!(
            parse("[::]:8080", "x"),
            Ok(SocketAddr::from((Ipv6Addr::LOCALHOST, 8080)))
        );
        assert_eq!(
            parse("127.0.0.2:1", "x"),
            Ok(SocketAddr::from(([127, 0, 0, 2], 1)))
        );
        assert!(parse("order-svc", "x").is_err());
    }
}
