//! Plain types and rules of the catalog and of orders: no transport, no SQL.
//!
//! - [`ids`]: UUID newtypes.
//! - [`product`]: product names and new products.
//! - [`order`]: orders, lines and pricing.
//! - [`lifecycle`]: the order state machine, including the pay-saga steps.
//! - [`event`]: the kinds of outbox events.
//! - [`page`]: opaque keyset page tokens.

pub mod event;
pub mod ids;
pub mod lifecycle;
pub mod order;
pub mod page;
pub mod product;

pub use event::EventKind;
pub use ids::{OrderId, PaymentId, ProductId, SagaId, UserId};
pub use lifecycle::{Command, Decision, OrderStatus, Refusal};
pub use order::{Order, OrderLine};
pub use product::Product;
