//! The delivery domain: plain types and rules, no transport and no SQL.
//!
//! - [`ids`]: UUID newtypes.
//! - [`info`]: delivery info and its validation.
//! - [`hold`]: the TTL-bound hold of an unpaid order's delivery info.
//! - [`delivery`]: deliveries and their state machine.
//! - [`event`]: outbox events.

pub mod delivery;
pub mod event;
pub mod hold;
pub mod ids;
pub mod info;

pub use delivery::{Action, Delivery, DeliveryStatus, Transition, TransitionError};
pub use event::{DeliveryEvent, EventKind};
pub use hold::{Hold, HoldTtl};
pub use ids::{DeliveryId, OrderId, PaymentId, SagaId, UserId};
pub use info::DeliveryInfo;
