//! The primitives a checkout is built from, measured on this machine in the same run:
//! a single-row Postgres UPDATE commit (pgbench), a Redis round trip
//! (redis-benchmark), and a tonic unary RPC (the gRPC health Check of a service).

use std::{process::Stdio, time::Duration};

use anyhow::{Context, bail};
use sqlx::{Connection, Executor, PgConnection};
use tokio::process::Command;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::{
    driver::{self, Limits, Worker},
    stats::Stats,
    target::{Target, Tools},
};

/// Rows of the scratch table: enough that concurrent updates rarely meet on one row.
const SCRATCH_ROWS: i32 = 1000;

/// Throughput and latency of a primitive at one concurrency.
#[derive(Debug, Clone)]
pub struct Measured {
    pub concurrency: usize,
    pub ops_per_sec: f64,
    /// Mean (pgbench) or median (redis-benchmark, echo) latency in ms.
    pub latency_ms: f64,
    pub latency_kind: &'static str,
}

/// pgbench running `UPDATE scratch SET n = n + 1 WHERE id = :random` (one statement,
/// autocommit: one commit each) at `concurrency` clients for `time`.
pub async fn postgres_commit(
    tools: &Tools,
    concurrency: usize,
    time: Duration,
) -> anyhow::Result<Measured> {
    let script = std::env::temp_dir().join(format!("shop-bench-{}.sql", std::process::id()));
    let text = format!(
        "\\set id random(1, {SCRATCH_ROWS})\nUPDATE scratch SET n = n + 1 WHERE id = :id;\n"
    );
    tokio::fs::write(&script, text).await?;
    let secs = time.as_secs().max(1).to_string();
    let clients = concurrency.to_string();
    let threads = concurrency.min(2).to_string();
    let port = tools.pg_port.to_string();
    let output = bounded(
        Command::new(tools.pg_bin.join("pgbench"))
            .args(["-n", "-f"])
            .arg(&script)
            .args(["-c", &clients, "-j", &threads, "-T", &secs])
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "bench"]),
        time,
    )
    .await?;
    let _ = tokio::fs::remove_file(&script).await;
    let tps = field_after(&output, "tps = ").context("pgbench printed no tps")?;
    let latency = field_after(&output, "latency average = ").unwrap_or(0.0);
    Ok(Measured {
        concurrency,
        ops_per_sec: tps,
        latency_ms: latency,
        latency_kind: "mean",
    })
}

/// Creates the scratch table pgbench updates (idempotent).
pub async fn prepare_scratch(tools: &Tools) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(&tools.scratch_db)
        .await
        .context("connect to the scratch database")?;
    conn.execute("CREATE TABLE IF NOT EXISTS scratch (id int PRIMARY KEY, n bigint NOT NULL)")
        .await?;
    conn.execute(sqlx::AssertSqlSafe(format!(
        "INSERT INTO scratch SELECT g, 0 FROM generate_series(1, {SCRATCH_ROWS}) g ON CONFLICT DO NOTHING"
    )))
    .await?;
    conn.close().await?;
    Ok(())
}

/// What the server promises about commits, for the report (`fsync`, `synchronous_commit`).
pub async fn durability(tools: &Tools) -> anyhow::Result<String> {
    let mut conn = PgConnection::connect(&tools.scratch_db).await?;
    let mut settings = Vec::new();
    for name in [
        "server_version",
        "fsync",
        "synchronous_commit",
        "wal_sync_method",
        "shared_buffers",
    ] {
        let value: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {name}")))
            .fetch_one(&mut conn)
            .await?;
        settings.push(format!("{name}={value}"));
    }
    conn.close().await?;
    Ok(settings.join(", "))
}

/// redis-benchmark SET and GET with `concurrency` clients (no pipelining).
pub async fn redis_round_trip(
    tools: &Tools,
    concurrency: usize,
    requests: u64,
) -> anyhow::Result<Vec<(&'static str, Measured)>> {
    let output = bounded(
        Command::new("redis-benchmark")
            .args(["-h", "127.0.0.1", "-p", &tools.redis_port.to_string()])
            .args(["-c", &concurrency.to_string(), "-n", &requests.to_string()])
            .args(["-t", "set,get", "-q", "-r", "10000"]),
        Duration::from_secs(60),
    )
    .await?;
    // One line per test: "SET: 41322.31 requests per second, p50=0.031 msec"
    let mut found = Vec::new();
    for (name, prefix) in [("SET", "SET: "), ("GET", "GET: ")] {
        let line = output
            .split(['\n', '\r'])
            .rfind(|l| l.trim_start().starts_with(prefix))
            .with_context(|| format!("redis-benchmark printed no {name} line: {output}"))?;
        let ops = field_after(line, prefix).context("redis-benchmark rate")?;
        let p50 = field_after(line, "p50=").unwrap_or(0.0);
        found.push((
            name,
            Measured {
                concurrency,
                ops_per_sec: ops,
                latency_ms: p50,
                latency_kind: "p50",
            },
        ));
    }
    Ok(found)
}

/// Unary gRPC health Checks against a running service, one connection per client.
pub async fn echo(target: &Target, concurrency: usize, time: Duration) -> anyhow::Result<Stats> {
    let mut workers: Vec<Worker> = Vec::new();
    for _ in 0..concurrency {
        let channel = Channel::from_shared(target.echo_grpc.clone())?
            .tcp_nodelay(true)
            .connect()
            .await
            .context("connect to the echo service")?;
        let client = HealthClient::new(channel);
        workers.push(Box::new(move || {
            let mut client = client.clone();
            Box::pin(async move {
                client
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .map(|_| ())
                    .map_err(|s| crate::shop::failure(&s))
            })
        }));
    }
    Ok(driver::run(workers, Limits::for_duration(time)).await)
}

/// Runs a tool with a time bound (its own run time plus a margin); its stdout.
async fn bounded(command: &mut Command, time: Duration) -> anyhow::Result<String> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().context("start the tool")?;
    let waited =
        tokio::time::timeout(time + Duration::from_secs(30), child.wait_with_output()).await;
    let output = match waited {
        Ok(output) => output?,
        Err(_) => bail!("the tool ran too long"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "the tool failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}

/// The number right after `label` in `text`.
fn field_after(text: &str, label: &str) -> Option<f64> {
    let rest = &text[text.find(label)? + label.len()..];
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_output_is_parsed() {
        let pgbench = "latency average = 1.234 ms\ninitial connection time = 2.1 ms\ntps = 810.5 (without initial connection time)\n";
        assert_eq!(field_after(pgbench, "tps = "), Some(810.5));
        assert_eq!(field_after(pgbench, "latency average = "), Some(1.234));
        let redis = "SET: 41322.31 requests per second, p50=0.031 msec";
        assert_eq!(field_after(redis, "SET: "), Some(41322.31));
        assert_eq!(field_after(redis, "p50="), Some(0.031));
        assert_eq!(field_after(redis, "GET: "), None);
    }
}
