//! The shared-secret check between the gateway and the internal services.
//!
//! When `INTERNAL_TOKEN` is set, a service accepts a call only with metadata
//! `authorization: Bearer <INTERNAL_TOKEN>`; health and reflection stay open so probes
//! and grpcurl work. The gateway attaches the token with [`BearerToken`].

use std::sync::Arc;

use shop_proto::common::ErrorReason;
use tonic::{Code, Request, Status, metadata::MetadataValue, service::Interceptor};

use crate::{
    secret::{ExposeSecret, Secret},
    status,
};

/// Server side: checks the bearer token when one is configured.
#[derive(Clone, Default)]
pub struct InternalAuth {
    expected: Option<Arc<str>>,
}

impl InternalAuth {
    pub fn new(token: Option<Secret>) -> Self {
        Self {
            expected: token.map(|t| Arc::from(t.expose_secret())),
        }
    }
}

impl Interceptor for InternalAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.expected else {
            return Ok(request);
        };
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(request),
            _ => Err(status::error(
                Code::Unauthenticated,
                ErrorReason::Unauthenticated,
                "missing or wrong internal token",
            )),
        }
    }
}

/// Client side: adds `authorization: Bearer <token>` when a token is configured.
#[derive(Clone, Default)]
pub struct BearerToken {
    header: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl BearerToken {
    /// Fails when the token has characters a header cannot carry.
    pub fn new(token: Option<&Secret>) -> anyhow::Result<Self> {
        let header = token
            .map(|t| {
                let mut value: MetadataValue<tonic::metadata::Ascii> =
                    format!("Bearer {}", t.expose_secret()).parse()?;
                value.set_sensitive(true);
                Ok::<_, tonic::metadata::errors::InvalidMetadataValue>(value)
            })
            .transpose()
            .map_err(|_| anyhow::anyhow!("INTERNAL_TOKEN must be printable ASCII"))?;
        Ok(Self { header })
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(header) = &self.header {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        Ok(request)
    }
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_token_configured_lets_everything_through() {
        assert!(InternalAuth::new(None).call(Request::new(())).is_ok());
    }

    #[test]
    fn wrong_or_missing_token_is_unauthenticated() {
        let mut auth = InternalAuth::new(Some("s3cret".into()));
        let err = auth.call(Request::new(())).unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);

        let wrong = BearerToken::new(Some(&"other".into()))
            .unwrap()
            .call(Request::new(()))
            .unwrap();
        assert!(auth.call(wrong).is_err());

        let right = BearerToken::new(Some(&"s3cret".into()))
            .unwrap()
            .call(Request::new(()))
            .unwrap();
        assert!(auth.call(right).is_ok());
    }
}
