//! `shopctl events ...`: the operator's view of the event stream.
//!
//! - `shopctl events tail [--key BINDING_KEY] [--count N]`: prints every event published
//!   from now on as one line of proto3 JSON, until Ctrl-C (or N events).
//! - `shopctl events dead-letters [--queue QUEUE] [--peek N]`: how many messages the
//!   consumer queue (default `shop.exporter`) gave up on, and the first N of them.
//!
//! The broker is `AMQP_URL` from the environment.

use std::{io::Write, process::ExitCode};

use shop_common::{config::ProcessEnv, secret::ExposeSecret};

const USAGE: &str = "usage: shopctl events tail [--key BINDING_KEY] [--count N]\n       shopctl events dead-letters [--queue QUEUE] [--peek N]";

/// The exporter's queue, the default of `dead-letters`.
pub const DEFAULT_QUEUE: &str = "shop.exporter";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Tail { key: String, count: Option<usize> },
    DeadLetters { queue: String, peek: usize },
}

/// Runs `shopctl events ARGS` (the arguments after `events`).
pub fn main(args: &[String]) -> ExitCode {
    let command = match parse(args) {
        Ok(command) => command,
        Err(err) => {
            eprintln!("shopctl: {err}");
            return ExitCode::from(2);
        }
    };
    let url = match crate::config::amqp_url(&ProcessEnv) {
        Ok(Some(url)) => url,
        Ok(None) => {
            eprintln!("shopctl: configuration error: AMQP_URL is not set");
            return ExitCode::from(2);
        }
        Err(err) => {
            eprintln!("shopctl: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("shopctl: cannot start: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(url.expose_secret(), command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("shopctl: {err:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(url: &str, command: Command) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        Command::Tail { key, count } => {
            let mut tail = crate::tail::Tail::bind(url, &key).await?;
            eprintln!("shopctl: following shop.events with key {key:?} (Ctrl-C stops)");
            let mut seen = 0;
            let stop = shop_common::shutdown::signal();
            tokio::pin!(stop);
            while count.is_none_or(|n| seen < n) {
                let line = tokio::select! {
                    () = &mut stop => break,
                    line = tail.next() => line?,
                };
                let Some(line) = line else { break };
                writeln!(out, "{line}")?;
                out.flush()?;
                seen += 1;
            }
            tail.close().await;
        }
        Command::DeadLetters { queue, peek } => {
            let dead = crate::tail::dead_letters(url, &queue, peek).await?;
            writeln!(
                out,
                "{}",
                serde_json::json!({ "queue": dead.queue, "count": dead.count })
            )?;
            for letter in &dead.sample {
                writeln!(out, "{}", letter.to_json())?;
            }
        }
    }
    Ok(())
}

fn parse(args: &[String]) -> Result<Command, String> {
    let mut args = args.iter();
    let sub = args.next().map(String::as_str);
    let mut flags = Vec::new();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(USAGE)?;
        flags.push((flag.as_str(), value.as_str()));
    }
    let number = |flag: &str, raw: &str| {
        raw.parse::<usize>()
            .map_err(|_| format!("{flag} must be a whole number, got {raw:?}"))
    };
    match sub {
        Some("tail") => {
            let (mut key, mut count) = ("#".to_owned(), None);
            for (flag, value) in flags {
                match flag {
                    "--key" => key = value.to_owned(),
                    "--count" => count = Some(number(flag, value)?),
                    _ => return Err(USAGE.into()),
                }
            }
            Ok(Command::Tail { key, count })
        }
        Some("dead-letters") => {
            let (mut queue, mut peek) = (DEFAULT_QUEUE.to_owned(), 10);
            for (flag, value) in flags {
                match flag {
                    "--queue" => queue = value.to_owned(),
                    "--peek" => peek = number(flag, value)?,
                    _ => return Err(USAGE.into()),
                }
            }
            Ok(Command::DeadLetters { queue, peek })
        }
        _ => Err(USAGE.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn tail_defaults_to_everything() {
        assert_eq!(
            parse(&args("tail")),
            Ok(Command::Tail {
                key: "#".into(),
                count: None
            })
        );
        assert_eq!(
            parse(&args("tail --key order.* --count 3")),
            Ok(Command::Tail {
                key: "order.*".into(),
                count: Some(3)
            })
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(parse(&args("")).is_err());
        assert!(
            parse(&args("tail --count lots"))
                .unwrap_err()
                .contains("--count")
        );
        assert!(parse(&args("tail --key")).is_err());
        assert!(parse(&args("dead-letters --nope 1")).is_err());
        assert_eq!(
            parse(&args("dead-letters")),
            Ok(Command::DeadLetters {
                queue: DEFAULT_QUEUE.into(),
                peek: 10
            })
        );
    }
}
