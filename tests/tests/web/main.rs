//! The REST facade as web clients meet it, on real stacks: its OpenAPI document
//! checked by an OpenAPI validator and by schemathesis against the live gateway; CORS,
//! request ids, replays and JSON errors; and the storefront and the operator console
//! driven in a real headless Chromium (Debian's, by playwright-core). The tools are
//! installed by `scripts/lib.sh` `ensure_web_tools` (scripts/test.sh calls it; a bare
//! `cargo test` calls it from here). Screenshots go to `target/tmp/web/`.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod browser;
mod contract;
mod cors;
mod facade;
mod http;
mod served;
mod tools;
