//! The broker settings every binary reads the same way: `AMQP_URL` turns events on.

use std::time::Duration;

#[cfg(test)]
use shop_common::secret::ExposeSecret;
use shop_common::{
    config::{self, ConfigError, EnvSource},
    secret::{Secret, secret},
};

/// What a relay needs; `None` from [`RelayConfig::from_env`] means "no broker".
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// `amqp://user:pass@host:port/vhost`.
    pub amqp_url: Secret,
    /// How often an idle relay looks for new outbox rows (`RELAY_POLL_EVERY`, 200ms).
    pub poll_every: Duration,
}

impl RelayConfig {
    /// `None` when `AMQP_URL` is unset or empty: the service runs without a broker.
    /// Both variables are read (and checked) either way, so a deployment sets the same
    /// names whether events are on or off.
    pub fn from_env(env: &dyn EnvSource) -> Result<Option<Self>, ConfigError> {
        let amqp_url = amqp_url(env)?;
        let poll_every = config::duration(env, "RELAY_POLL_EVERY", Duration::from_millis(200))?;
        Ok(amqp_url.map(|amqp_url| Self {
            amqp_url,
            poll_every,
        }))
    }

    /// Settings for tests: the given broker, a quick poll.
    pub fn for_tests(amqp_url: String) -> Self {
        Self {
            amqp_url: secret(amqp_url),
            poll_every: Duration::from_millis(50),
        }
    }
}

/// `AMQP_URL` when set; an error naming it when it is not an `amqp://` URL.
pub fn amqp_url(env: &dyn EnvSource) -> Result<Option<Secret>, ConfigError> {
    let Some(raw) = config::optional(env, "AMQP_URL") else {
        return Ok(None);
    };
    if let Err(err) = raw.parse::<lapin::uri::AMQPUri>() {
        return Err(ConfigError::Invalid {
            name: "AMQP_URL",
            problem: format!("expected amqp://user:pass@host:port/vhost ({err})"),
        });
    }
    Ok(Some(secret(raw)))
}

/// The URL without its password, for logs.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&'static str, &str)]) -> HashMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn unset_or_blank_means_no_broker() {
        assert!(RelayConfig::from_env(&env(&[])).unwrap().is_none());
        assert!(
            RelayConfig::from_env(&env(&[("AMQP_URL", " ")]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_broker_url_turns_the_relay_on() {
        let config = RelayConfig::from_env(&env(&[(
            "AMQP_URL",
            "amqp://guest:guest@127.0.0.1:5672/%2f",
        )]))
        .unwrap()
        .unwrap();
        assert_eq!(
            config.amqp_url.expose_secret(),
            "amqp://guest:guest@127.0.0.1:5672/%2f"
        );
        assert!(!format!("{config:?}").contains("guest:guest"));
        assert_eq!(config.poll_every, Duration::from_millis(200));
    }

    #[test]
    fn a_malformed_url_names_the_variable() {
        let err = RelayConfig::from_env(&env(&[("AMQP_URL", "http://127.0.0.1:5672")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("configuration error: AMQP_URL is invalid"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            redacted("amqp://guest:s3cret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redacted("amqp://127.0.0.1"), "amqp://127.0.0.1");
    }
}
