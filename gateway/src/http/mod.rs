//! The REST facade (DESIGN.md "REST facade"): the pinned paths over the same
//! `ShopService` / `AdminService` implementations as gRPC, with the same messages in
//! their proto3 JSON form. Headers become gRPC metadata, so `Authorization` and
//! `Idempotency-Key` mean exactly what they mean over gRPC. Beside the API it serves
//! its OpenAPI document, the docs page, the operator console and the storefront.
//!
//! - [`routes`]: the route table, the one source of the router and the document.
//! - [`route`]: what a route is; [`bind`]: request messages from path, query, body.
//! - [`openapi`]: the OpenAPI 3.1 document; [`descriptors`]: the contract's.
//! - [`pages`]: the embedded pages and assets.
//! - [`cors`], [`request_id`], [`error`], [`json`], [`telemetry`]: what every
//!   request goes through.

mod bind;
pub(crate) mod cors;
mod descriptors;
pub mod error;
pub mod json;
mod openapi;
mod pages;
mod request_id;
mod route;
mod routes;
mod telemetry;

use axum::{
    Router, body::Bytes, extract::DefaultBodyLimit, http::StatusCode, response::IntoResponse,
};
use shop_common::detach::DetachLayer;
use tonic::Code;

use crate::{api::Gateway, readiness::Readiness};
use error::plain;

#[derive(Clone)]
pub(crate) struct AppState {
    gateway: Gateway,
    readiness: Readiness,
    /// The OpenAPI document, made once at start.
    openapi: Bytes,
}

/// The facade, with CORS for `cors_allowed_origins` (none: no CORS headers at all).
pub fn router(gateway: Gateway, readiness: Readiness, config: &crate::Config) -> Router {
    let routes = routes::table();
    // Start-up: the document is made from the compiled-in contract and the table
    // (unit tests make it too).
    let document = openapi::document(&routes)
        .unwrap_or_else(|err| panic!("the OpenAPI document cannot be made: {err}"));
    let openapi = Bytes::from(document.to_string());
    let mut router = Router::new();
    for route in routes {
        router = router.route(route.path, route.handler);
    }
    let router = router
        .fallback(|| async {
            plain(
                StatusCode::NOT_FOUND,
                Code::NotFound,
                "NOT_FOUND",
                "no such path",
            )
        })
        .method_not_allowed_fallback(|| async {
            // axum adds the `Allow` header.
            plain(
                StatusCode::METHOD_NOT_ALLOWED,
                Code::Unimplemented,
                "METHOD_NOT_ALLOWED",
                "this path does not take that method",
            )
            .into_response()
        })
        .layer(DefaultBodyLimit::max(json::MAX_BODY))
        .layer(DetachLayer);
    let router = match cors::layer(&config.cors_allowed_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    request_id::layer(
        router
            .layer(telemetry::spans())
            .layer(axum::middleware::from_fn(telemetry::record)),
    )
    .with_state(AppState {
        gateway,
        readiness,
        openapi,
    })
}
