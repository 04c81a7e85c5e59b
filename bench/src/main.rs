//! `loadgen [--smoke] [--out FILE]`: runs the benchmark against the system named by the
//! `BENCH_*` variables (see scripts/bench.sh), prints the report and writes it to FILE.
//! `BENCH_CLIENTS=16,256` replaces the plan's client counts.
//! Exits 3 when the invariant audit finds anything, 1 on any other failure.

use std::process::ExitCode;

use shop_bench::{report, run, target};

#[tokio::main]
async fn main() -> ExitCode {
    match run_main().await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("loadgen: {err:#}");
            ExitCode::from(1)
        }
    }
}

async fn run_main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut plan = if args.iter().any(|a| a == "--smoke") {
        target::Plan::smoke()
    } else {
        target::Plan::full()
    };
    if let Ok(clients) = std::env::var("BENCH_CLIENTS") {
        plan.concurrencies = target::parse_clients(&clients)?;
    }
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1).cloned());
    let command = std::env::var("BENCH_COMMAND").unwrap_or_else(|_| "loadgen".into());

    let target = target::Target::from_env()?;
    let results = run::run(&target, &plan).await?;
    let text = report::render(&results, &report::machine(), &command);
    println!("{text}");
    if let Some(path) = out {
        std::fs::write(&path, &text)?;
        eprintln!("==> report written to {path}");
    }
    if results.violations.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!(
        "!!! INVARIANT AUDIT FAILED: {} violation(s)",
        results.violations.len()
    );
    for violation in &results.violations {
        eprintln!("!!!   {violation}");
    }
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
    Ok(ExitCode::from(3))
}
