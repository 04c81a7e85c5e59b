//! The internal error every service answers alike: a bug or a broken invariant, its
//! cause chain logged, the caller told only INTERNAL. Each service's `Error` has an
//! `Internal(#[from] Internal)` variant and builds one with
//! [`InternalError::internal`].

use tonic::Status;

use crate::status;

#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct Internal {
    context: &'static str,
    #[source]
    source: anyhow::Error,
}

impl Internal {
    pub fn new(context: &'static str, source: impl Into<anyhow::Error>) -> Self {
        Self {
            context,
            source: source.into(),
        }
    }

    /// INTERNAL with no detail for the caller; the context and chain are logged.
    pub fn status(&self) -> Status {
        status::internal(self.context, self.source.as_ref())
    }
}

/// `Error::internal(context, source)` for every error type with an [`Internal`]
/// variant.
pub trait InternalError: From<Internal> {
    fn internal(context: &'static str, source: impl Into<anyhow::Error>) -> Self {
        Internal::new(context, source).into()
    }
}

impl<E: From<Internal>> InternalError for E {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_sees_no_cause() {
        let err = Internal::new("inconsistent data", anyhow::anyhow!("secret detail"));
        assert_eq!(err.to_string(), "inconsistent data");
        let status = err.status();
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
