//! All SQL of payment-svc. Functions take a `&PgPool` or a `&mut PgConnection` (a
//! transaction); the multi-step saga operations own their transaction.
//!
//! - [`wallets`]: balances and top-ups.
//! - [`ledger`]: the record of every balance change.
//! - [`coupons`]: issuing, listing, claiming and freeing coupons.
//! - [`payments`]: payment rows.
//! - [`fences`]: the per-(order, saga) fence rows.
//! - [`charge`] / [`refund`]: the two saga steps, each one transaction.

pub mod charge;
pub mod coupons;
pub mod fences;
pub mod ledger;
pub mod payments;
pub mod refund;
pub mod wallets;
