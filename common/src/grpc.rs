//! Serving a service's gRPC routes with what every server here offers: the standard
//! health service, server reflection (v1 and v1alpha, for grpcurl), and a graceful
//! shutdown that drains in-flight calls for a bounded grace period.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    service::Routes,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::ServingStatus;

use crate::detach::DetachLayer;

/// How long in-flight calls (and open event streams) get to finish after shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `routes` plus health and reflection on `listener` until `shutdown` is
/// cancelled. `services` are the fully-qualified names reported SERVING by health.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    services: &[&str],
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in services {
        reporter
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    let reflection_v1 = reflection(services).build_v1()?;
    let reflection_v1alpha = reflection(services).build_v1alpha()?;
    let routes = routes
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    // Innermost, so that tonic's `grpc-timeout` drops only the wrapper, not the work.
    let routes = Routes::from(routes.into_axum_router().layer(DetachLayer));

    let names: Vec<String> = services.iter().map(|s| (*s).to_owned()).collect();
    let stopping = shutdown.clone();
    let on_shutdown = async move {
        stopping.cancelled().await;
        // Tell load balancers first, then stop accepting.
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for name in &names {
            reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
    };

    let server = Server::builder()
        // One span per call; `x-request-id` (set by the gateway) joins the logs of
        // every service that worked on one public request.
        .trace_fn(|request| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("grpc", path = %request.uri().path(), request_id)
        })
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming(listener), on_shutdown);
    tokio::select! {
        result = server => result.map_err(anyhow::Error::from),
        () = grace_expired(shutdown) => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "in-flight calls did not finish in time; stopping anyway");
            Ok(())
        }
    }
}

/// Accepted connections with Nagle off: a gRPC answer is a few small frames, and
/// Nagle plus delayed ACKs would hold each one back for up to 40 ms.
fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Reflection that lists only what this server serves (the descriptor set holds the
/// whole contract, so clients can still resolve every type).
fn reflection(services: &[&str]) -> tonic_reflection::server::Builder<'static> {
    let mut builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(shop_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health");
    for name in services {
        builder = builder.with_service_name(*name);
    }
    builder
}

async fn grace_expired(shutdown: CancellationToken) {
    shutdown.cancelled().await;
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}
