//! The binaries' own view of a deployment file's variables: each binary's
//! `Config::from_env` reads them through a recording [`EnvSource`], so a variable the
//! binary reads that the file does not set, or one the file sets that the binary does
//! not read, is a failure naming it. When a binary starts reading a new variable (or a
//! new binary appears), these tests fail until compose, Kubernetes and the Dockerfile
//! say what it should be.

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
};

use shop_common::config::{ConfigError, EnvSource};

/// Read by every binary outside its `Config` (`common/src/telemetry.rs`).
pub const READ_OUTSIDE_CONFIG: &[&str] = &["RUST_LOG", "LOG_FORMAT"];

/// One shipped server binary: its name (also its image, compose service, Deployment
/// and Dockerfile stage) and its settings parser, which answers the addresses the
/// binary would listen on.
pub struct Binary {
    pub name: &'static str,
    listens: fn(&dyn EnvSource) -> Result<Vec<SocketAddr>, ConfigError>,
}

pub const BINARIES: &[Binary] = &[
    Binary {
        name: "order-svc",
        listens: |env| {
            order_svc::Config::from_env(env).map(|c| vec![c.listen_addr, c.metrics_addr])
        },
    },
    Binary {
        name: "payment-svc",
        listens: |env| {
            payment_svc::Config::from_env(env).map(|c| vec![c.listen_addr, c.metrics_addr])
        },
    },
    Binary {
        name: "delivery-svc",
        listens: |env| {
            delivery_svc::Config::from_env(env).map(|c| vec![c.listen_addr, c.metrics_addr])
        },
    },
    Binary {
        name: "gateway",
        listens: |env| {
            gateway::Config::from_env(env).map(|c| vec![c.listen_addr, c.http_addr, c.metrics_addr])
        },
    },
];

pub fn binary(name: &str) -> Option<&'static Binary> {
    BINARIES.iter().find(|b| b.name == name)
}

pub fn names() -> BTreeSet<&'static str> {
    BINARIES.iter().map(|b| b.name).collect()
}

/// Stand-ins for the settings without a default, for reading the defaults of the rest.
const REQUIRED_SAMPLES: &[(&str, &str)] = &[
    ("DATABASE_URL", "postgres://shop@db/shop"),
    ("REDIS_URL", "redis://redis:6379"),
    ("JWT_SECRET", "sample-secret-of-sixteen-chars"),
    ("ORDER_SVC_URL", "http://order-svc:1"),
    ("PAYMENT_SVC_URL", "http://payment-svc:1"),
    ("DELIVERY_SVC_URL", "http://delivery-svc:1"),
    // Images listen beyond loopback, where the internal services require it.
    ("INTERNAL_TOKEN", "sample-internal-token"),
];

/// An [`EnvSource`] over a file's variables that remembers every name asked.
struct Recording<'a> {
    vars: &'a BTreeMap<String, String>,
    asked: RefCell<BTreeSet<String>>,
}

impl EnvSource for Recording<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.asked.borrow_mut().insert(name.to_owned());
        self.vars.get(name).cloned()
    }
}

impl Binary {
    /// The ports the binary listens on with `vars` over stand-ins for its required
    /// settings, and the names it read: what an image's `ENV` gives it.
    pub fn with_samples(
        &self,
        vars: &BTreeMap<String, String>,
    ) -> Result<(Vec<u16>, BTreeSet<String>), String> {
        let mut all: BTreeMap<String, String> = REQUIRED_SAMPLES
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        all.extend(vars.clone());
        let env = Recording {
            vars: &all,
            asked: RefCell::default(),
        };
        let addrs = (self.listens)(&env)
            .map_err(|e| format!("{}: {e} (add it to REQUIRED_SAMPLES?)", self.name))?;
        let ports = addrs.iter().map(SocketAddr::port).collect();
        Ok((ports, env.asked.into_inner()))
    }

    /// The ports the binary listens on when nothing but its required settings is set.
    pub fn default_ports(&self) -> Vec<u16> {
        self.with_samples(&BTreeMap::new())
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    }

    /// Every variable the binary reads, given `vars` (all of them, since a parse
    /// that succeeds asks for each setting once).
    pub fn reads(&self, vars: &BTreeMap<String, String>) -> Result<BTreeSet<String>, String> {
        let env = Recording {
            vars,
            asked: RefCell::default(),
        };
        (self.listens)(&env).map_err(|e| format!("{}: {e}", self.name))?;
        let mut read = env.asked.into_inner();
        read.extend(READ_OUTSIDE_CONFIG.iter().map(|n| (*n).to_owned()));
        Ok(read)
    }

    /// Parses the binary's settings from exactly `vars` (what `file` sets for it): Ok
    /// with the ports it would listen on when the names match both ways.
    pub fn check(&self, file: &str, vars: &BTreeMap<String, String>) -> Result<Vec<u16>, String> {
        let read = self
            .reads(vars)
            .map_err(|e| format!("{file}: {e} (the binary would not start)"))?;
        let set: BTreeSet<String> = vars.keys().cloned().collect();
        let unset: Vec<_> = read.difference(&set).collect();
        let unread: Vec<_> = set.difference(&read).collect();
        if !unset.is_empty() || !unread.is_empty() {
            return Err(format!(
                "{file}: {} reads {unset:?} which the file does not set, and the file sets \
                 {unread:?} which it does not read",
                self.name
            ));
        }
        let addrs = (self.listens)(&Recording {
            vars,
            asked: RefCell::default(),
        })
        .map_err(|e| e.to_string())?;
        Ok(addrs.iter().map(SocketAddr::port).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn payment(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut all = vars(&[
            ("LISTEN_ADDR", "0.0.0.0:50052"),
            ("METRICS_ADDR", "0.0.0.0:9464"),
            ("DATABASE_URL", "postgres://p@db/payment"),
            ("INTERNAL_TOKEN", "t"),
            ("DB_MAX_CONNECTIONS", "16"),
            ("DB_STATEMENT_TIMEOUT", "5s"),
            ("DB_LOCK_TIMEOUT", "4s"),
            ("DB_IDLE_IN_TRANSACTION_TIMEOUT", "10s"),
            ("LOG_RETENTION", "30d"),
            ("RUST_LOG", "info"),
            ("LOG_FORMAT", "json"),
        ]);
        all.extend(vars(extra));
        all
    }

    #[test]
    fn the_check_catches_a_missing_an_unread_and_a_malformed_variable() {
        let bin = binary("payment-svc").unwrap();
        assert_eq!(bin.check("f", &payment(&[])), Ok(vec![50052, 9464]));

        let mut missing = payment(&[]);
        missing.remove("DB_LOCK_TIMEOUT");
        let err = bin.check("f", &missing).unwrap_err();
        assert!(err.contains("\"DB_LOCK_TIMEOUT\""), "{err}");

        let err = bin
            .check("f", &payment(&[("REDIS_URL", "redis://r")]))
            .unwrap_err();
        assert!(err.contains("\"REDIS_URL\""), "{err}");

        let err = bin
            .check("f", &payment(&[("DB_MAX_CONNECTIONS", "many")]))
            .unwrap_err();
        assert!(err.contains("DB_MAX_CONNECTIONS is invalid"), "{err}");
    }

    #[test]
    fn default_ports_are_the_binaries_own() {
        let ports: Vec<_> = BINARIES.iter().map(|b| b.default_ports()).collect();
        assert_eq!(
            ports,
            vec![
                vec![50051, 9551],
                vec![50052, 9552],
                vec![50053, 9553],
                vec![50050, 8080, 9550]
            ]
        );
    }
}
