//! Operator tool. `shopctl token --role user|admin [--sub UUID] [--ttl 24h]` prints a
//! signed JWT for the gateway (HS256 with `JWT_SECRET` from the environment, and the
//! `iss` / `aud` of `JWT_ISSUER` / `JWT_AUDIENCE` when they are set).
//! `shopctl health [HOST:PORT]` is the containers' health check (see [`health`]).

use std::process::ExitCode;

use gateway::auth::{Authenticator, Role};
use shop_common::config::{self, ProcessEnv};
use uuid::Uuid;

// Beside this file, not in src/bin/ (where cargo would take it for a binary of its own).
#[path = "shopctl/health.rs"]
mod health;

const USAGE: &str = "usage: shopctl token --role user|admin [--sub USER_UUID] [--ttl 24h]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `shopctl events tail|dead-letters ...`: the event stream (shop_events::cli).
    if args.first().map(String::as_str) == Some("events") {
        return shop_events::cli::main(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("health") {
        return health::main(&args[1..]);
    }
    match run(args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("shopctl: {err}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let mut args = args.into_iter();
    if args.next().as_deref() != Some("token") {
        return Err(USAGE.into());
    }
    let (mut role, mut sub, mut ttl) = (None, Uuid::now_v7(), "24h".to_owned());
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--role" => {
                role = Some(match value.as_str() {
                    "user" => Role::User,
                    "admin" => Role::Admin,
                    _ => return Err("--role must be user or admin".into()),
                })
            }
            "--sub" => {
                sub = Uuid::try_parse(&value).map_err(|_| "--sub must be a UUID".to_owned())?
            }
            "--ttl" => ttl = value,
            _ => return Err(USAGE.into()),
        }
    }
    let role = role.ok_or(USAGE)?;
    let ttl = config::parse_duration(&ttl).map_err(|e| format!("--ttl: {e}"))?;
    let secret = config::required(&ProcessEnv, "JWT_SECRET").map_err(|e| e.to_string())?;
    let issuer = config::optional(&ProcessEnv, "JWT_ISSUER");
    let audience = config::optional(&ProcessEnv, "JWT_AUDIENCE");
    Authenticator::new(&secret)
        .expecting(issuer.as_deref(), audience.as_deref())
        .mint(sub, role, ttl)
        .map_err(|e| e.to_string())
}
