//! Collecting every field violation of a request before refusing it, so a client
//! learns all that is wrong at once.

use tonic::Status;
use uuid::Uuid;

/// Field violations found so far: `(field path, description)`.
#[derive(Debug, Default)]
pub struct Violations(Vec<(String, String)>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push((field.into(), description.into()));
    }

    /// Records `description` against `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: impl Into<String>, description: impl Into<String>) {
        if !ok {
            self.add(field, description);
        }
    }

    /// Parses a required UUID (any version, hyphenated).
    pub fn uuid(&mut self, field: impl Into<String>, raw: &str) -> Option<Uuid> {
        match parse_uuid(raw) {
            Ok(id) => Some(id),
            Err(problem) => {
                self.add(field, problem);
                None
            }
        }
    }

    /// Parses a UUID that may be empty (absent).
    pub fn optional_uuid(&mut self, field: impl Into<String>, raw: &str) -> Option<Uuid> {
        if raw.trim().is_empty() {
            None
        } else {
            self.uuid(field, raw)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn list(&self) -> &[(String, String)] {
        &self.0
    }

    /// `Ok(())` when nothing was found, else the `VALIDATION_FAILED` status.
    pub fn finish(self) -> Result<(), Status> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::status::validation(&self.0))
        }
    }
}

/// A UUID in its canonical hyphenated text form.
pub fn parse_uuid(raw: &str) -> Result<Uuid, String> {
    if raw.is_empty() {
        return Err("is required".to_owned());
    }
    if raw.len() != 36 {
        return Err(format!(
            "must be a UUID like 0190c2a8-6b1e-7c4e-9f3a-2d5b8e1f4a6c, got {:?}",
            truncate(raw)
        ));
    }
    Uuid::try_parse(raw).map_err(|_| format!("must be a UUID, got {:?}", truncate(raw)))
}

fn truncate(raw: &str) -> String {
    raw.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_problem() {
        let mut v = Violations::new();
        assert!(v.uuid("order_id", "nope").is_none());
        v.check(false, "quantity", "must be positive");
        assert!(
            v.uuid("user_id", "0190c2a8-6b1e-7c4e-9f3a-2d5b8e1f4a6c")
                .is_some()
        );
        assert_eq!(v.list().len(), 2);
        assert!(v.finish().is_err());
    }

    #[test]
    fn empty_optional_uuid_is_absent() {
        let mut v = Violations::new();
        assert_eq!(v.optional_uuid("coupon_id", ""), None);
        assert!(v.finish().is_ok());
    }

    #[test]
    fn rejects_non_canonical_uuid_forms() {
        assert!(parse_uuid("0190c2a86b1e7c4e9f3a2d5b8e1f4a6c").is_err());
        assert!(parse_uuid("").is_err());
    }
}
