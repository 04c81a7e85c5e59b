//! Delivery info (recipient, address, contact, note) and the rules it must meet.

/// Validated delivery info. Values are stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryInfo {
    pub recipient_name: String,
    pub address: String,
    pub contact: String,
    pub requirement: String,
}

/// One broken rule: the field (relative to the info) and what is wrong.
pub type Problem = (&'static str, String);

pub const MAX_NAME: usize = 100;
pub const MAX_ADDRESS: usize = 500;
pub const MAX_REQUIREMENT: usize = 500;
const CONTACT_LEN: std::ops::RangeInclusive<usize> = 7..=20;
const MIN_CONTACT_DIGITS: usize = 7;

impl DeliveryInfo {
    /// Checks every field and reports every problem at once.
    pub fn parse(
        recipient_name: &str,
        address: &str,
        contact: &str,
        requirement: &str,
    ) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let recipient_name = recipient_name.trim();
        let address = address.trim();
        let contact = contact.trim();
        let requirement = requirement.trim();
        if let Some(problem) = text_problem(recipient_name, MAX_NAME) {
            problems.push(("recipient_name", problem));
        }
        if let Some(problem) = text_problem(address, MAX_ADDRESS) {
            problems.push(("address", problem));
        }
        if let Some(problem) = contact_problem(contact) {
            problems.push(("contact", problem));
        }
        if let Some(problem) = control_problem(requirement).or_else(|| {
            (requirement.chars().count() > MAX_REQUIREMENT)
                .then(|| format!("must be at most {MAX_REQUIREMENT} characters"))
        }) {
            problems.push(("requirement", problem));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            recipient_name: recipient_name.to_owned(),
            address: address.to_owned(),
            contact: contact.to_owned(),
            requirement: requirement.to_owned(),
        })
    }
}

/// Control characters (a NUL, say) are refused in every field: the hold is copied into
/// Postgres after the charge, and a value it cannot store must fail here, before.
fn control_problem(value: &str) -> Option<String> {
    shop_common::validate::control_char_at(value)
        .map(|at| format!("must not contain control characters (found one at character {at})"))
}

fn text_problem(value: &str, max: usize) -> Option<String> {
    if let Some(problem) = control_problem(value) {
        return Some(problem);
    }
    let len = value.chars().count();
    if len == 0 {
        Some("is required".to_owned())
    } else if len > max {
        Some(format!("must be at most {max} characters"))
    } else {
        None
    }
}

fn contact_problem(contact: &str) -> Option<String> {
    if contact.is_empty() {
        return Some("is required".to_owned());
    }
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')');
    let digits = contact.chars().filter(char::is_ascii_digit).count();
    let ok = CONTACT_LEN.contains(&contact.chars().count())
        && contact.chars().all(allowed)
        && digits >= MIN_CONTACT_DIGITS;
    (!ok).then(|| {
        format!(
            "must be 7 to 20 characters of digits, spaces, '+', '-', '(' or ')' \
             with at least {MIN_CONTACT_DIGITS} digits"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: Result<DeliveryInfo, Vec<Problem>>) -> Vec<&'static str> {
        result
            .err()
            .map(|p| p.into_iter().map(|(f, _)| f).collect())
            .unwrap_or_default()
    }

    #[test]
    fn accepts_a_korean_address_and_phone() {
        let info = DeliveryInfo::parse(
            " 홍길동 ",
            "서울특별시 중구 을지로 100",
            "010-1234-5678",
            "문 앞에 놓아주세요",
        )
        .unwrap();
        assert_eq!(info.recipient_name, "홍길동");
        assert!(DeliveryInfo::parse("a", "b", "+82 (10) 1234 5678", "").is_ok());
    }

    #[test]
    fn reports_every_broken_field() {
        let long = "x".repeat(501);
        assert_eq!(
            fields(DeliveryInfo::parse("  ", &long, "call me", &long)),
            vec!["recipient_name", "address", "contact", "requirement"]
        );
    }

    #[test]
    fn control_characters_are_refused_in_every_field() {
        assert_eq!(
            fields(DeliveryInfo::parse(
                "Kim\u{0}",
                "Seoul\u{0} 1",
                "010\t1234567",
                "ring\ntwice"
            )),
            vec!["recipient_name", "address", "contact", "requirement"]
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let name = "홍".repeat(100);
        assert!(DeliveryInfo::parse(&name, "a", "0101234567", "").is_ok());
        let name = "홍".repeat(101);
        assert_eq!(
            fields(DeliveryInfo::parse(&name, "a", "0101234567", "")),
            vec!["recipient_name"]
        );
    }

    #[test]
    fn contact_needs_seven_digits_and_only_phone_characters() {
        for bad in [
            "123456",
            "+-() 123456",
            "010-1234-567x",
            "0".repeat(21).as_str(),
        ] {
            assert_eq!(
                fields(DeliveryInfo::parse("a", "b", bad, "")),
                vec!["contact"],
                "{bad:?}"
            );
        }
        for good in ["1234567", "(02) 123-4567", "+1 555 0100 12"] {
            assert!(DeliveryInfo::parse("a", "b", good, "").is_ok(), "{good:?}");
        }
    }
}
