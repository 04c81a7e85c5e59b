//! All SQL of payment-svc. Functions take a `&mut PgConnection` (a transaction or a
//! pooled connection of the caller in [`crate::usecase`]).
//!
//! - [`wallets`]: balances and top-ups.
//! - [`ledger`]: the record of every balance change.
//! - [`coupons`]: issuing, listing, claiming and freeing coupons.
//! - [`payments`]: payment rows.
//! - [`fences`]: the per-(order, saga) fence rows.

pub mod coupons;
pub mod fences;
pub mod ledger;
pub mod payments;
pub mod wallets;
