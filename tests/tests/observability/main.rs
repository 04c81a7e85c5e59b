//! Observability end to end: the spans of one REST checkout reach a real OTLP
//! receiver as one connected trace through all four services, every binary's
//! `/metrics` parses as Prometheus text with the series a checkout produces, and
//! reflection on every server resolves the error-detail types grpcurl needs.
//!
//! Its own test binary: telemetry and the metrics recorder are global to a process.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod metrics;
mod otlp;
mod promtool;
mod receiver;
mod reflection;
