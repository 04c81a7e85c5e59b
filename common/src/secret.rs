//! Secrets from the environment (`JWT_SECRET`, `INTERNAL_TOKEN`, database and broker
//! URLs with their passwords) kept in [`Secret`], which prints as `[REDACTED]` in
//! `Debug`, so a config logged whole does not leak them. Read one with
//! [`ExposeSecret::expose_secret`] at the single place it is used.

pub use secrecy::ExposeSecret;

/// A secret string; `Clone`, redacted in `Debug`, zeroed on drop.
pub type Secret = secrecy::SecretString;

/// A [`Secret`] from a plain string.
pub fn secret(value: impl Into<String>) -> Secret {
    Secret::from(value.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_does_not_print_in_debug() {
        let s = secret("postgres://shop:hunter2@localhost/shop");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(
            s.clone().expose_secret(),
            "postgres://shop:hunter2@localhost/shop"
        );
    }
}
