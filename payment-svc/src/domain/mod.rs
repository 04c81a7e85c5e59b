//! Plain types and rules of payments: no transport, no SQL.
//!
//! - [`ids`]: UUID newtypes.
//! - [`wallet`]: wallets, top-ups and the ledger.
//! - [`coupon`]: coupons, their discounts and why one cannot be used.
//! - [`payment`]: charges, refunds and what a charge costs.

pub mod coupon;
pub mod ids;
pub mod payment;
pub mod wallet;

pub use coupon::{Coupon, CouponRejection, Discount, NewCoupon};
pub use ids::{CouponId, OrderId, PaymentId, SagaId, UserId};
pub use payment::{ChargeCommand, Payment, PaymentStatus, Quote, RefundCommand, RefundOutcome};
pub use wallet::{IdempotencyKey, LedgerEntry, LedgerKind, TopUp, Wallet};
