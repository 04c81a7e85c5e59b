//! What each call of payment-svc does: each function owns its transaction (or
//! connection), applies the domain's rules and writes through [`crate::store`].
//!
//! - [`charge`]: Charge, the pivot of the pay saga (fence, coupon, points, payment,
//!   ledger in one transaction).
//! - [`refund`]: Refund, its compensation (or a tombstone before any charge).
//! - [`wallets`]: TopUp and GetWallet.
//! - [`coupons`]: IssueCoupon and ListCoupons.
//! - [`payments`]: GetPayment and ListLedger.

pub mod charge;
pub mod coupons;
pub mod payments;
pub mod refund;
pub mod wallets;
