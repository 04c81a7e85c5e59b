//! End-to-end tests: the four real services on real sockets, a real PostgreSQL and
//! Redis, driven through the gateway's gRPC and REST faces as clients would. Every
//! test that changes state ends with the invariant audit.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod admission;
mod database_restart;
mod delivery_down;
mod faults;
mod flows;
mod gateway_crash;
mod grpc_input;
mod instances;
mod operators;
mod partial;
mod rest;
mod retries;
mod security;
mod smoke;
mod support;
