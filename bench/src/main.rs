//! `loadgen [--smoke] [--out FILE]`: runs the benchmark against the system named by the
//! `BENCH_*` variables (see scripts/bench.sh), prints the report and writes it to FILE
//! (and the plot of throughput and p99 against clients beside it, as FILE.svg).
//! `BENCH_CLIENTS=16,256` replaces the plan's client counts. With `BENCH_BASELINE_*` set
//! (`scripts/bench.sh --baseline REF`) a second build is measured in the same run.
//! Exits 3 when the invariant audit finds anything, 1 on any other failure.

use std::process::ExitCode;

use shop_bench::{plot, report, run, target};

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

    let mut builds = vec![run::Build {
        name: std::env::var("BENCH_NAME").unwrap_or_else(|_| "this build".into()),
        target: target::Target::from_env()?,
    }];
    if let Some(baseline) = target::Target::baseline_from_env()? {
        builds.push(run::Build {
            name: std::env::var("BENCH_BASELINE_NAME").unwrap_or_else(|_| "baseline".into()),
            target: baseline,
        });
    }
    let results = run::run(&builds, &plan).await?;
    let text = report::render(&results, &report::machine(), &command);
    println!("{text}");
    if let Some(path) = out {
        std::fs::write(&path, &text)?;
        eprintln!("==> report written to {path}");
        if let Some(svg) = plot::svg(&results) {
            let plot_path = std::path::Path::new(&path).with_extension("svg");
            std::fs::write(&plot_path, svg)?;
            eprintln!("==> plot written to {}", plot_path.display());
        }
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
