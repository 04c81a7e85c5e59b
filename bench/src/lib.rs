//! The checkout benchmark (`loadgen`): closed-loop load on the gateway at several
//! client counts, a hot product, the primitives and the monolith floor measured in the
//! same run, and the invariant audit at the end. `scripts/bench.sh` runs it against the
//! release binaries; the smoke test runs it against an in-process `Stack`.
//!
//! - [`target`]: the system under test and the plan (full, smoke, test).
//! - [`driver`]: the bounded closed-loop driver.
//! - [`stats`]: latencies, failures by reason, throughput.
//! - [`shop`]: shoppers, the catalog and the checkout operations (gRPC and REST).
//! - [`primitives`]: pgbench, redis-benchmark, a tonic unary RPC.
//! - [`cost`]: CPU, commits and statements per checkout, read from /proc and Postgres.
//! - [`floor`]: the monolith floor (the services' store code in-process).
//! - [`hot`]: many buyers for little stock, verified in the databases.
//! - [`audit`]: the invariant audit.
//! - [`run`]: one run, phase by phase, of one build or of a build and its baseline.
//! - [`report`]: the Markdown report.
//! - [`plot`]: throughput and p99 against clients, per build, as SVG.

pub mod audit;
pub mod cost;
pub mod driver;
pub mod floor;
pub mod hot;
pub mod plot;
pub mod primitives;
pub mod report;
pub mod run;
pub mod shop;
pub mod stats;
pub mod target;
