//! The results as a Markdown report: checkout table, the baseline comparison, the cost
//! per checkout, primitives with ratios, hot product, audit verdict, and the machine it
//! ran on.

use std::fmt::Write;

use crate::{
    hot::HotReport,
    run::{CheckoutRow, Results},
};

/// The whole report. `machine` and `command` head it.
pub fn render(results: &Results, machine: &str, command: &str) -> String {
    let mut out = String::new();
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let _ = writeln!(out, "# Checkout benchmark ({} run, {now})\n", results.mode);
    let _ = writeln!(out, "Command: `{command}`  ");
    let _ = writeln!(out, "Machine: {machine}  ");
    if let Some(durability) = &results.durability {
        let _ = writeln!(out, "Postgres: {durability}  ");
    }
    let _ = writeln!(
        out,
        "Everything (Postgres, Redis, the four services, this load generator) on this machine, over 127.0.0.1.\n"
    );
    checkout(&mut out, results);
    comparison(&mut out, results);
    costs(&mut out, results);
    primitives(&mut out, results);
    hot(&mut out, results);
    audit(&mut out, results);
    if !results.notes.is_empty() {
        let _ = writeln!(out, "\n## Notes\n");
        for note in &results.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}

fn checkout(out: &mut String, results: &Results) {
    table(
        out,
        "## Checkout through the gateway (closed loop, one user and connection per client)\n",
        "| build | path | clients | ok | failed | checkouts/s | p50 ms | p90 ms | p99 ms | max ms | errors by reason |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    );
    for row in &results.checkout {
        let s = &row.stats;
        let p = s.latency();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            key(results, row),
            s.ok(),
            s.failed(),
            s.throughput(),
            p.p50,
            p.p90,
            p.p99,
            p.max,
            s.failures_text()
        );
    }
}

/// This build against the baseline, row by row of the same run.
fn comparison(out: &mut String, results: &Results) {
    let [this, baseline] = results.builds.as_slice() else {
        return;
    };
    table(
        out,
        &format!("\n## {this} against {baseline}, same run (ratio = {this} ÷ {baseline})\n"),
        "| path | clients | checkouts/s | ratio | p50 ms | ratio | p99 ms | ratio | CPU ms per checkout | ratio |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    );
    for row in results.checkout.iter().filter(|r| r.build == 0) {
        let Some(base) = results.row(1, row.scenario, row.concurrency) else {
            continue;
        };
        let (now, was) = (row.stats.latency(), base.stats.latency());
        let pair = |a: f64, b: f64| format!("{a:.1} / {b:.1} | {}", ratio(a, b));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.scenario.label(),
            row.concurrency,
            pair(row.stats.throughput(), base.stats.throughput()),
            pair(now.p50, was.p50),
            pair(now.p99, was.p99),
            pair(row.cost.total_cpu_ms(), base.cost.total_cpu_ms()),
        );
    }
}

/// The build, path and clients cells of `row`.
fn key(results: &Results, row: &CheckoutRow) -> String {
    format!(
        "{} | {} | {}",
        results.builds[row.build],
        row.scenario.label(),
        row.concurrency
    )
}

/// A section heading and a table's header row and alignment row.
fn table(out: &mut String, heading: &str, columns: &str, alignment: &str) {
    let _ = writeln!(out, "{heading}");
    let _ = writeln!(out, "{columns}");
    let _ = writeln!(out, "{alignment}");
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "-".into()
    }
}

/// CPU by process, commits and statements per successful checkout.
fn costs(out: &mut String, results: &Results) {
    table(
        out,
        "\n## Cost per checkout (CPU from /proc; write transactions: transaction ids assigned; statements from pg_stat_statements)\n",
        "| build | path | clients | CPU ms total | CPU ms by process | write transactions | statements |",
        "|---|---|--:|--:|---|--:|--:|",
    );
    let or_dash = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.1}"));
    for row in &results.checkout {
        let by_process: Vec<String> = row
            .cost
            .cpu_ms
            .iter()
            .map(|(name, ms)| format!("{name} {ms:.2}"))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {:.2} | {} | {} | {} |",
            key(results, row),
            row.cost.total_cpu_ms(),
            by_process.join(", "),
            or_dash(row.cost.commits),
            or_dash(row.cost.statements),
        );
    }
}

fn primitives(out: &mut String, results: &Results) {
    let _ = writeln!(out, "\n## Primitives and the monolith floor, same run\n");
    table(
        out,
        "Ratio: this build's gRPC Checkout throughput at the same client count divided by the primitive's \
         (1 : n means one checkout costs the throughput of n primitives).\n",
        "| primitive | clients | ops/s | latency ms | Checkout ÷ primitive |",
        "|---|--:|--:|--:|--:|",
    );
    for row in &results.primitives {
        let m = &row.measured;
        let ratio = match results.checkout_rate(m.concurrency) {
            Some(rate) if m.ops_per_sec > 0.0 && rate > 0.0 => {
                let r = rate / m.ops_per_sec;
                format!("{r:.4} (1 : {:.1})", 1.0 / r)
            }
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.3} ({}) | {ratio} |",
            row.name, m.concurrency, m.ops_per_sec, m.latency_ms, m.latency_kind
        );
    }
}

fn hot(out: &mut String, results: &Results) {
    for (build, hot) in &results.hot {
        hot_of(out, &results.builds[*build], hot);
    }
}

fn hot_of(out: &mut String, build: &str, hot: &HotReport) {
    let v = hot.verified;
    let ok = hot.answers.latency();
    let failed = hot.answers.failure_latency();
    let sold_out = hot
        .sold_out_after
        .map(|d| format!("{:.0} ms", d.as_secs_f64() * 1000.0))
        .unwrap_or_else(|| "not sold out".into());
    let _ = writeln!(
        out,
        "\n## Hot product, {build}: {} buyers at once for {} units (gRPC Checkout)\n",
        hot.buyers, hot.stock
    );
    let _ = writeln!(out, "| measure | value |");
    let _ = writeln!(out, "|---|---|");
    let rows = [
        ("succeeded (answers)", hot.answers.ok().to_string()),
        ("failed (answers)", hot.answers.failed().to_string()),
        ("failures by reason", hot.answers.failures_text()),
        ("units in PAID orders (order DB)", v.units_paid.to_string()),
        ("units reserved (order DB)", v.units_reserved.to_string()),
        ("charged payments (payment DB)", v.charges.to_string()),
        ("stock left (order DB)", v.stock_left.to_string()),
        (
            "**oversold** (must be 0)",
            format!("**{}**", hot.oversold()),
        ),
        ("time to sell out", sold_out),
        (
            "success latency p50 / p99 / max ms",
            format!("{:.1} / {:.1} / {:.1}", ok.p50, ok.p99, ok.max),
        ),
        (
            "failure latency p50 / p99 / max ms",
            format!("{:.1} / {:.1} / {:.1}", failed.p50, failed.p99, failed.max),
        ),
        (
            "all answered within",
            format!("{:.0} ms", hot.answers.elapsed.as_secs_f64() * 1000.0),
        ),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "| {name} | {value} |");
    }
}

fn audit(out: &mut String, results: &Results) {
    let _ = writeln!(
        out,
        "\n## Invariant audit (all four databases and Redis, after every saga ended)\n"
    );
    if results.violations.is_empty() {
        let _ = writeln!(out, "Clean: the five invariants hold.");
    } else {
        let _ = writeln!(out, "**{} VIOLATION(S):**\n", results.violations.len());
        for violation in &results.violations {
            let _ = writeln!(out, "- {violation}");
        }
    }
}

/// CPU, cores, memory and kernel, from /proc.
pub fn machine() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split(':').nth(1))
        })
        .map_or("unknown CPU", str::trim)
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = read("/proc/sys/kernel/osrelease");
    format!(
        "{model}, {cores} cores, {mem_gib:.0} GiB RAM, Linux {}",
        kernel.trim()
    )
}
