//! What a measured phase cost, counted by the system rather than by the code: CPU time
//! of each process (utime + stime from `/proc/<pid>/stat`), write transactions (the
//! transaction ids the server assigned, `pg_snapshot_xmax(pg_current_snapshot())`:
//! every commit that waits for the WAL flush has one) and the statements the build's
//! databases ran (`pg_stat_statements.calls`, when the server preloads it; each is one
//! round trip unless pipelined). Divided by the phase's successful checkouts. Both
//! counters move at once; `pg_stat_database.xact_commit` is not used, as a backend
//! publishes it only up to 10 s after going idle.
//!
//! Postgres and Redis are shared by the builds of a comparison, so their CPU and the
//! transaction ids are the whole server's: phases run one build at a time, and the idle
//! build's background work is counted against the running one.

use shop_e2e::Databases;
use sqlx::{Connection, PgConnection};

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// Where a build's costs are read.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// The build's own processes by name (`gateway` = pid), from `BENCH_PIDS`.
    pub processes: Vec<(String, u32)>,
    /// A connection string to any database of the server, for its statistics views.
    pub stats_url: Option<String>,
    /// The build's database names (the last part of each of its connection strings).
    pub databases: Vec<String>,
}

/// The counters at one moment ([`Probe::sample`]), or their growth over a phase
/// ([`Counters::since`], [`Counters::add`]).
#[derive(Debug, Clone, Default)]
pub struct Counters {
    cpu_seconds: Vec<(String, f64)>,
    commits: Option<i64>,
    statements: Option<i64>,
}

/// A phase's cost per successful checkout.
#[derive(Debug, Clone, Default)]
pub struct PerCheckout {
    /// CPU milliseconds per checkout by process, in the probe's order, then
    /// `postgres`, `redis-server` and `loadgen`.
    pub cpu_ms: Vec<(String, f64)>,
    /// Write transactions (transaction ids assigned).
    pub commits: Option<f64>,
    pub statements: Option<f64>,
}

impl PerCheckout {
    /// All processes together.
    pub fn total_cpu_ms(&self) -> f64 {
        self.cpu_ms.iter().map(|(_, ms)| ms).sum()
    }
}

impl Probe {
    /// The probe of a build with these `processes` and `databases`, reading the server's
    /// statistics through `stats_url`.
    pub fn new(processes: Vec<(String, u32)>, stats_url: String, databases: &Databases) -> Self {
        let name = |url: &str| url.rsplit('/').next().unwrap_or_default().to_owned();
        Self {
            processes,
            stats_url: Some(stats_url),
            databases: [
                &databases.order,
                &databases.payment,
                &databases.delivery,
                &databases.gateway,
            ]
            .map(|url| name(url))
            .to_vec(),
        }
    }

    /// Reads every counter now.
    pub async fn sample(&self) -> Counters {
        let mut cpu_seconds: Vec<(String, f64)> = self
            .processes
            .iter()
            .map(|(name, pid)| (name.clone(), cpu_of(&[*pid])))
            .collect();
        for comm in ["postgres", "redis-server"] {
            cpu_seconds.push((comm.to_owned(), cpu_of(&pids_named(comm))));
        }
        cpu_seconds.push(("loadgen".to_owned(), cpu_of(&[std::process::id()])));
        let (commits, statements) = match &self.stats_url {
            Some(url) => self.database_counters(url).await,
            None => (None, None),
        };
        Counters {
            cpu_seconds,
            commits,
            statements,
        }
    }

    async fn database_counters(&self, url: &str) -> (Option<i64>, Option<i64>) {
        let Ok(mut conn) = PgConnection::connect(url).await else {
            return (None, None);
        };
        let commits = sqlx::query_scalar::<_, i64>(
            "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint",
        )
        .fetch_one(&mut conn)
        .await
        .ok();
        let statements = sqlx::query_scalar::<_, Option<i64>>(
            "SELECT sum(s.calls)::bigint FROM pg_stat_statements s \
             JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ANY($1)",
        )
        .bind(&self.databases)
        .fetch_one(&mut conn)
        .await
        .ok()
        .flatten();
        let _ = conn.close().await;
        (commits, statements)
    }
}

impl Counters {
    /// The counters' growth from `before` to this sample.
    pub fn since(&self, before: &Counters) -> Counters {
        let cpu_seconds = self
            .cpu_seconds
            .iter()
            .map(|(name, seconds)| {
                let was = before
                    .cpu_seconds
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or(0.0, |(_, s)| *s);
                (name.clone(), (seconds - was).max(0.0))
            })
            .collect();
        let delta = |a: Option<i64>, b: Option<i64>| Some(a? - b?);
        Counters {
            cpu_seconds,
            commits: delta(self.commits, before.commits),
            statements: delta(self.statements, before.statements),
        }
    }

    /// Adds `other`, the growth over another slice of the same phase (into an empty
    /// `Counters` the first time).
    pub fn add(&mut self, other: &Counters) {
        if self.cpu_seconds.is_empty() {
            *self = other.clone();
            return;
        }
        for (name, seconds) in &other.cpu_seconds {
            match self.cpu_seconds.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) => *total += seconds,
                None => self.cpu_seconds.push((name.clone(), *seconds)),
            }
        }
        let sum = |a: Option<i64>, b: Option<i64>| Some(a? + b?);
        self.commits = sum(self.commits, other.commits);
        self.statements = sum(self.statements, other.statements);
    }

    /// Per one of `checkouts`.
    pub fn per(&self, checkouts: u64) -> PerCheckout {
        let n = checkouts.max(1) as f64;
        PerCheckout {
            cpu_ms: self
                .cpu_seconds
                .iter()
                .map(|(name, seconds)| (name.clone(), seconds * 1000.0 / n))
                .collect(),
            commits: self.commits.map(|c| c as f64 / n),
            statements: self.statements.map(|c| c as f64 / n),
        }
    }
}

/// utime + stime of `pids` in seconds; a process that is gone counts 0.
fn cpu_of(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| ticks(&stat))
        .map(|t| t as f64 / TICKS_PER_SECOND)
        .sum()
}

/// Fields 14 and 15 of a `/proc/<pid>/stat` line (after the parenthesised name, which
/// may hold spaces).
fn ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Every process whose `comm` is `name`.
fn pids_named(name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .collect()
}

/// `gateway=123,order-svc=456`: the processes of `BENCH_PIDS`.
pub fn parse_pids(raw: &str) -> anyhow::Result<Vec<(String, u32)>> {
    raw.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (name, pid) = pair
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("{pair:?} is not name=pid"))?;
            let pid = pid
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{pair:?}: not a pid"))?;
            Ok((name.trim().to_owned(), pid))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_read_after_a_name_with_spaces() {
        let stat = "42 (tokio rt worker) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 4 0";
        assert_eq!(ticks(stat), Some(280));
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        let spin = (0..50_000_000u64).fold(0u64, |a, b| std::hint::black_box(a ^ b));
        std::hint::black_box(spin);
        assert!(cpu_of(&[std::process::id()]) > 0.0);
    }

    #[test]
    fn pids_are_name_equals_pid() {
        assert_eq!(
            parse_pids("gateway=12, order-svc=34").ok(),
            Some(vec![("gateway".into(), 12), ("order-svc".into(), 34)])
        );
        assert!(parse_pids("gateway").is_err());
        assert!(parse_pids("gateway=x").is_err());
    }

    #[test]
    fn costs_are_divided_by_checkouts() {
        let sample = |cpu: f64, commits: i64| Counters {
            cpu_seconds: vec![("gateway".into(), cpu)],
            commits: Some(commits),
            statements: None,
        };
        let mut usage = sample(3.0, 300).since(&sample(1.0, 100));
        usage.add(&sample(4.0, 500).since(&sample(3.0, 300)));
        let cost = usage.per(100);
        assert_eq!(cost.cpu_ms, vec![("gateway".into(), 30.0)]);
        assert_eq!(cost.commits, Some(4.0));
        assert_eq!(cost.statements, None);
    }
}
