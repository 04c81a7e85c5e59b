//! Products of the catalog and the rules for creating them.

use chrono::{DateTime, Utc};

use super::ProductId;

/// Longest product name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub price: i64,
    pub stock: i32,
    pub created_at: DateTime<Utc>,
}

/// A product name: trimmed, 1..=200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err("must not be empty".to_owned());
        }
        if chars > MAX_NAME_CHARS {
            return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated CreateProduct request.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub name: ProductName,
    pub price: i64,
    pub stock: i32,
    /// Makes a repeated create return the first product.
    pub request_key: Option<String>,
}

/// A validated AdjustStock request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockAdjustment {
    pub product_id: ProductId,
    pub delta: i32,
    /// Makes a repeated adjustment count once.
    pub request_key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ProductName::parse("  mug ").unwrap().as_str(), "mug");
        assert!(ProductName::parse("   ").is_err());
        assert!(ProductName::parse(&"é".repeat(200)).is_ok());
        assert!(ProductName::parse(&"x".repeat(201)).is_err());
    }
}
