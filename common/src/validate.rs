//! Collecting every field violation of a request before refusing it, so a client
//! learns all that is wrong at once; and the rules every service applies alike: no
//! control characters in free text, and the largest amount a charge can take.

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

    /// Records a violation when `value` has a control character (Unicode Cc: NUL,
    /// newlines, escapes...). Free text travels into Redis, Postgres (which refuses
    /// NUL), logs and couriers' labels, so it is refused at the door rather than found
    /// broken after a charge.
    pub fn plain_text(&mut self, field: impl Into<String>, value: &str) {
        if let Some(at) = control_char_at(value) {
            self.add(
                field,
                format!("must not contain control characters (found one at character {at})"),
            );
        }
    }

    /// An optional name of a reader of an outbox (StreamEvents `consumer`): at most 100
    /// letters, digits, `-`, `_` or `.`; empty is none.
    pub fn consumer_name(&mut self, field: impl Into<String>, raw: &str) -> Option<String> {
        let name = raw.trim();
        let ok = name.len() <= 100
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        self.check(
            ok,
            field,
            "must be at most 100 letters, digits, '-', '_' or '.'",
        );
        (ok && !name.is_empty()).then(|| name.to_owned())
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

/// The largest order amount a charge accepts, in points: far above any real order and
/// small enough that no arithmetic on it overflows. An order whose total is above it
/// could be placed but never paid, so it is refused when placed.
pub const MAX_CHARGE: i64 = 1_000_000_000_000;

/// The position (in characters) of the first control character of `value`, if any.
pub fn control_char_at(value: &str) -> Option<usize> {
    value.chars().position(char::is_control)
}

/// `value` with each control character replaced by a space: for reasons written into
/// compensations, which must not fail over their wording.
pub fn without_control_chars(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
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
    fn control_characters_are_refused_or_replaced() {
        let mut v = Violations::new();
        v.plain_text("address", "Seoul\u{0} 1");
        v.plain_text("note", "ring\ntwice");
        v.plain_text("name", "홍길동 \u{200b}");
        assert_eq!(v.list().len(), 2, "{:?}", v.list());
        assert!(v.list()[0].1.contains("character 5"), "{:?}", v.list());
        assert_eq!(without_control_chars("a\u{0}b\u{7f}"), "a b ");
    }

    #[test]
    fn rejects_non_canonical_uuid_forms() {
        assert!(parse_uuid("0190c2a86b1e7c4e9f3a2d5b8e1f4a6c").is_err());
        assert!(parse_uuid("").is_err());
    }
}
