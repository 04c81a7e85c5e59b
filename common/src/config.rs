//! Reading settings from the environment, once, at start.
//!
//! Services parse their `Config` from an [`EnvSource`], so tests pass a map instead of
//! touching the process environment. A missing or malformed variable is a
//! [`ConfigError`] whose one-line message names it.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use crate::secret::Secret;

/// Where settings come from: the process environment or, in tests, a map.
pub trait EnvSource {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl EnvSource for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl EnvSource for HashMap<&str, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("configuration error: {0} is not set")]
    Missing(&'static str),
    #[error("configuration error: {name} is invalid: {problem}")]
    Invalid { name: &'static str, problem: String },
    /// Unset, though another setting makes it necessary.
    #[error("configuration error: {name} is not set, and {because}")]
    Required { name: &'static str, because: String },
}

fn invalid(name: &'static str, problem: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        name,
        problem: problem.to_string(),
    }
}

/// A set, non-empty variable.
pub fn required(env: &dyn EnvSource, name: &'static str) -> Result<String, ConfigError> {
    match env.get(name) {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// A variable that may be absent or empty.
pub fn optional(env: &dyn EnvSource, name: &'static str) -> Option<String> {
    env.get(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A `host:port` socket address, with a default when unset.
/// A required variable that holds a secret (a key, a token, a URL with a password).
pub fn required_secret(env: &dyn EnvSource, name: &'static str) -> Result<Secret, ConfigError> {
    required(env, name).map(Secret::from)
}

/// An optional variable that holds a secret.
pub fn optional_secret(env: &dyn EnvSource, name: &'static str) -> Option<Secret> {
    optional(env, name).map(Secret::from)
}

pub fn socket_addr(
    env: &dyn EnvSource,
    name: &'static str,
    default: &str,
) -> Result<SocketAddr, ConfigError> {
    let raw = optional(env, name).unwrap_or_else(|| default.to_owned());
    raw.parse()
        .map_err(|_| invalid(name, format!("expected host:port, got {raw:?}")))
}

/// A human-readable duration (`300ms`, `5m`, `24h`), with a default when unset.
pub fn duration(
    env: &dyn EnvSource,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match optional(env, name) {
        None => Ok(default),
        Some(raw) => parse_duration(&raw).map_err(|problem| invalid(name, problem)),
    }
}

/// An `http://host:port` URL of another service.
pub fn http_url(env: &dyn EnvSource, name: &'static str) -> Result<String, ConfigError> {
    let raw = required(env, name)?;
    if !(raw.starts_with("http://") || raw.starts_with("https://")) {
        return Err(invalid(
            name,
            format!("expected http://host:port, got {raw:?}"),
        ));
    }
    Ok(raw)
}

/// A positive whole number, with a default when unset.
pub fn positive_u32(
    env: &dyn EnvSource,
    name: &'static str,
    default: u32,
) -> Result<u32, ConfigError> {
    match optional(env, name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(invalid(
                name,
                format!("expected a positive whole number, got {raw:?}"),
            )),
        },
    }
}

/// A whole number (zero allowed), with a default when unset.
pub fn whole_u32(
    env: &dyn EnvSource,
    name: &'static str,
    default: u32,
) -> Result<u32, ConfigError> {
    match optional(env, name) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<u32>()
            .map_err(|_| invalid(name, format!("expected a whole number, got {raw:?}"))),
    }
}

/// `INTERNAL_TOKEN` of an internal service listening on `listen_addr`: optional on
/// loopback, required anywhere else, so a service reachable from other hosts never
/// serves without the token check.
pub fn internal_token(
    env: &dyn EnvSource,
    listen_addr: SocketAddr,
) -> Result<Option<Secret>, ConfigError> {
    let token = optional_secret(env, "INTERNAL_TOKEN");
    if token.is_none() && !listen_addr.ip().is_loopback() {
        return Err(ConfigError::Required {
            name: "INTERNAL_TOKEN",
            because: format!(
                "LISTEN_ADDR ({listen_addr}) is not a loopback address: set INTERNAL_TOKEN, \
                 or bind LISTEN_ADDR to 127.0.0.1"
            ),
        });
    }
    Ok(token)
}

/// Parses `300ms`, `5m`, `1h 30m`; zero is refused.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let parsed = humantime::parse_duration(raw)
        .map_err(|err| format!("expected a duration like 300ms, 5m or 24h, got {raw:?} ({err})"))?;
    if parsed.is_zero() {
        return Err(format!("must be longer than zero, got {raw:?}"));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, &str)]) -> HashMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn missing_variable_is_named() {
        let err = required(&env(&[]), "DATABASE_URL").unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration error: DATABASE_URL is not set"
        );
    }

    #[test]
    fn blank_counts_as_missing() {
        let err = required(&env(&[("DATABASE_URL", "  ")]), "DATABASE_URL").unwrap_err();
        assert_eq!(err, ConfigError::Missing("DATABASE_URL"));
    }

    #[test]
    fn durations_are_human_readable() {
        let e = env(&[("A", "300ms"), ("B", "5m"), ("C", "24h")]);
        assert_eq!(
            duration(&e, "A", Duration::ZERO),
            Ok(Duration::from_millis(300))
        );
        assert_eq!(
            duration(&e, "B", Duration::ZERO),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(
            duration(&e, "C", Duration::ZERO),
            Ok(Duration::from_secs(86_400))
        );
        assert_eq!(
            duration(&e, "D", Duration::from_secs(7)),
            Ok(Duration::from_secs(7))
        );
    }

    #[test]
    fn malformed_duration_names_the_variable() {
        let err = duration(
            &env(&[("PAYMENT_WINDOW", "soon")]),
            "PAYMENT_WINDOW",
            Duration::ZERO,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("configuration error: PAYMENT_WINDOW is invalid"),
            "{err}"
        );
        assert!(!err.contains('\n'));
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn an_exposed_internal_service_needs_its_token() {
        let open = SocketAddr::from(([0, 0, 0, 0], 50051));
        let err = internal_token(&env(&[]), open).unwrap_err().to_string();
        assert!(
            err.contains("INTERNAL_TOKEN") && err.contains("LISTEN_ADDR"),
            "{err}"
        );
        assert!(!err.contains('\n'));
        let loopback = SocketAddr::from(([127, 0, 0, 1], 50051));
        assert!(internal_token(&env(&[]), loopback).unwrap().is_none());
        let set = env(&[("INTERNAL_TOKEN", "s3cret")]);
        let token = internal_token(&set, open).unwrap().unwrap();
        assert_eq!(crate::secret::ExposeSecret::expose_secret(&token), "s3cret");
    }

    #[test]
    fn addresses_and_urls_are_checked() {
        let e = env(&[
            ("LISTEN_ADDR", "localhost"),
            ("ORDER_SVC_URL", "127.0.0.1:1"),
        ]);
        assert!(socket_addr(&e, "LISTEN_ADDR", "127.0.0.1:0").is_err());
        assert!(socket_addr(&env(&[]), "LISTEN_ADDR", "127.0.0.1:50051").is_ok());
        assert!(http_url(&e, "ORDER_SVC_URL").is_err());
    }
}
