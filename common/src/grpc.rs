//! Serving a service's gRPC routes with what every server here offers: the standard
//! health service, server reflection (v1 and v1alpha, for grpcurl, with the error
//! detail types), a span and metrics per call (see [`crate::grpc_calls`]), and a
//! graceful shutdown that drains in-flight calls for a bounded grace period.

use std::{collections::HashSet, time::Duration};

use prost::Message;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{
    service::Routes,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::ServingStatus;

use crate::{
    detach::DetachLayer,
    grpc_calls::CallsLayer,
    limit::{self, InFlightLimit},
};

/// The reflection services, served on every server beside what the descriptors list.
const REFLECTION_METHODS: &[&str] = &[
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// How long in-flight calls (and open event streams) get to finish after shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Health is answered whatever the load.
const EXEMPT: &[&str] = &["/grpc.health.v1.Health/"];

/// Serves `routes` plus health and reflection on `listener` until `shutdown` is
/// cancelled. `services` are the fully-qualified names reported SERVING by health.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    services: &[&str],
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    serve_limited(listener, routes, services, shutdown, None).await
}

/// [`serve`] with at most `max_in_flight` calls' work running at once (health
/// excepted); the next is refused with RESOURCE_EXHAUSTED / OVERLOADED
/// ([`crate::limit`]).
pub async fn serve_limited(
    listener: TcpListener,
    routes: Routes,
    services: &[&str],
    shutdown: CancellationToken,
    max_in_flight: Option<usize>,
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
    let calls = CallsLayer::new(methods(services));
    // Detach innermost, so that tonic's `grpc-timeout` drops only the wrapper, not the
    // work; the limit's slot goes into the detached task with it; the span is entered
    // around both, so the detached work runs in it.
    let router = routes.into_axum_router().layer(DetachLayer);
    let router = match max_in_flight {
        Some(max) => router.layer(InFlightLimit::new(
            max,
            "grpc",
            limit::grpc_overloaded,
            EXEMPT,
        )),
        None => router,
    };
    let routes = Routes::from(router.layer(calls));

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
        // The types of error details, so grpcurl prints `reason: OUT_OF_STOCK` and the
        // field violations instead of raw bytes.
        .register_encoded_file_descriptor_set(shop_proto::ERROR_DETAILS_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health");
    for name in services {
        builder = builder.with_service_name(*name);
    }
    builder
}

/// The `/package.Service/Method` paths this server answers: the methods of `services`
/// and of health (from their descriptors), and reflection.
fn methods(services: &[&str]) -> HashSet<String> {
    let mut methods: HashSet<String> = REFLECTION_METHODS.iter().map(|m| (*m).to_owned()).collect();
    let served: HashSet<&str> = services
        .iter()
        .copied()
        .chain(["grpc.health.v1.Health"])
        .collect();
    for set in [
        shop_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
    ] {
        let Ok(set) = prost_types::FileDescriptorSet::decode(set) else {
            continue;
        };
        for file in set.file {
            for service in &file.service {
                let full = format!("{}.{}", file.package(), service.name());
                if !served.contains(full.as_str()) {
                    continue;
                }
                for method in &service.method {
                    methods.insert(format!("/{full}/{}", method.name()));
                }
            }
        }
    }
    methods
}

async fn grace_expired(shutdown: CancellationToken) {
    shutdown.cancelled().await;
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}
