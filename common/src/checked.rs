//! The end of a request's validation, written once for every service: [`finish`]
//! turns the collected [`Violations`] into the service's `Invalid` error, and
//! [`Checked::checked`] takes the value of a field that validation accepted. After a
//! clean `finish`, every required field is `Some`; a `None` there is a bug of the
//! service (an [`Internal`] error), never blamed on the caller.
//!
//! ```
//! use shop_common::{checked::{self, Checked}, validate::Violations};
//!
//! let mut v = Violations::new();
//! let id = v.uuid("order_id", "0190c2a8-6b1e-7c4e-9f3a-2d5b8e1f4a6c");
//! assert!(checked::finish(v).is_ok());
//! assert!(id.checked("order_id").is_ok());
//! ```

use crate::{internal::Internal, validate::Violations};

/// `Ok(())` when validation found nothing, else every `(field, description)` found.
pub fn finish(violations: Violations) -> Result<(), Vec<(String, String)>> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations.list().to_vec())
    }
}

/// The value of a validated field; `None` is the service's bug.
pub trait Checked<T> {
    fn checked(self, field: &'static str) -> Result<T, Internal>;
}

impl<T> Checked<T> for Option<T> {
    fn checked(self, field: &'static str) -> Result<T, Internal> {
        self.ok_or_else(|| {
            Internal::new(
                "validation passed without a value",
                anyhow::anyhow!("no value for {field}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_all_returned_and_a_missing_value_names_its_field() {
        let mut v = Violations::new();
        assert!(v.uuid("order_id", "nope").is_none());
        v.check(false, "quantity", "must be positive");
        assert_eq!(finish(v).unwrap_err().len(), 2);
        let err = None::<u8>.checked("saga_id").unwrap_err();
        assert_eq!(err.to_string(), "validation passed without a value");
        assert!(format!("{err:?}").contains("saga_id"));
    }
}
