//! Orders and their lines, and pricing a new order from catalog snapshots.

use chrono::{DateTime, Utc};
use shop_common::validate::MAX_CHARGE;

use super::{OrderId, OrderStatus, PaymentId, ProductId, SagaId, UserId};

pub const MAX_LINES: usize = 100;
pub const MAX_QUANTITY: i32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub quantity: i32,
    /// Price and name of the product when the order was placed.
    pub unit_price: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub total_amount: i64,
    pub discount_amount: i64,
    pub paid_amount: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub payment_id: Option<PaymentId>,
    pub saga_id: Option<SagaId>,
    pub last_error: Option<String>,
    pub cancel_reason: Option<String>,
}

/// A requested line, before pricing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRequest {
    pub product_id: ProductId,
    pub quantity: i32,
}

/// A validated CreateOrder request.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub id: OrderId,
    pub user_id: UserId,
    pub lines: Vec<LineRequest>,
    pub expires_at: DateTime<Utc>,
}

/// What the catalog says about a product when the order is placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceQuote {
    pub product_id: ProductId,
    pub name: String,
    pub price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PricingError {
    UnknownProduct {
        line: usize,
        product_id: ProductId,
    },
    TotalOverflow,
    /// The total is more than a payment can take: the order could never be paid.
    AboveMaxCharge(i64),
}

/// Snapshots price and name into each line and sums the total without overflow; a
/// total above [`MAX_CHARGE`] is refused.
pub fn price_lines(
    requested: &[LineRequest],
    quotes: &[PriceQuote],
) -> Result<(Vec<OrderLine>, i64), PricingError> {
    let mut lines = Vec::with_capacity(requested.len());
    let mut total: i64 = 0;
    for (index, line) in requested.iter().enumerate() {
        let quote = quotes
            .iter()
            .find(|q| q.product_id == line.product_id)
            .ok_or(PricingError::UnknownProduct {
                line: index,
                product_id: line.product_id,
            })?;
        total = quote
            .price
            .checked_mul(i64::from(line.quantity))
            .and_then(|amount| total.checked_add(amount))
            .ok_or(PricingError::TotalOverflow)?;
        lines.push(OrderLine {
            product_id: line.product_id,
            quantity: line.quantity,
            unit_price: quote.price,
            name: quote.name.clone(),
        });
    }
    if total > MAX_CHARGE {
        return Err(PricingError::AboveMaxCharge(total));
    }
    Ok((lines, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(id: ProductId, price: i64) -> PriceQuote {
        PriceQuote {
            product_id: id,
            name: "thing".into(),
            price,
        }
    }

    #[test]
    fn same_product_on_several_lines_is_priced_per_line() {
        let a = ProductId::generate();
        let b = ProductId::generate();
        let requested = [
            LineRequest {
                product_id: a,
                quantity: 2,
            },
            LineRequest {
                product_id: b,
                quantity: 1,
            },
            LineRequest {
                product_id: a,
                quantity: 3,
            },
        ];
        let (lines, total) = price_lines(&requested, &[quote(a, 10), quote(b, 7)]).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(total, 57);
        assert_eq!(lines[2].unit_price, 10);
    }

    #[test]
    fn unknown_product_names_its_line() {
        let a = ProductId::generate();
        let requested = [LineRequest {
            product_id: a,
            quantity: 1,
        }];
        assert_eq!(
            price_lines(&requested, &[]),
            Err(PricingError::UnknownProduct {
                line: 0,
                product_id: a
            })
        );
    }

    #[test]
    fn a_total_no_payment_can_take_is_refused() {
        let a = ProductId::generate();
        let line = |quantity| LineRequest {
            product_id: a,
            quantity,
        };
        let price = MAX_CHARGE / 1000;
        assert!(price_lines(&[line(1000)], &[quote(a, price)]).is_ok());
        assert_eq!(
            price_lines(&[line(1000), line(1)], &[quote(a, price)]),
            Err(PricingError::AboveMaxCharge(MAX_CHARGE + price))
        );
    }

    #[test]
    fn overflowing_total_is_refused() {
        let a = ProductId::generate();
        let requested = [
            LineRequest {
                product_id: a,
                quantity: 1000,
            },
            LineRequest {
                product_id: a,
                quantity: 1000,
            },
        ];
        assert_eq!(
            price_lines(&requested, &[quote(a, i64::MAX / 1500)]),
            Err(PricingError::TotalOverflow)
        );
    }
}
