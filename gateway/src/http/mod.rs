//! The REST facade (DESIGN.md "REST facade"): the pinned paths over the same
//! `ShopService` / `AdminService` implementations as gRPC, with the same messages in
//! their proto3 JSON form. Headers become gRPC metadata, so `Authorization` and
//! `Idempotency-Key` mean exactly what they mean over gRPC.

pub mod error;
pub mod json;
mod routes;
mod telemetry;

pub use routes::router;
