//! payment-svc through its real gRPC API: each test serves the real App on port 0
//! over a fresh database of the shared test Postgres, and ends with the points audit.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod charge;
mod coupons;
mod fences;
mod helpers;
mod keys;
mod serving;
mod validation;
mod wallet;
