//! What the benchmark's monolith floor (`bench/src/floor.rs`) drives in-process: the
//! hold and ConfirmDelivery use cases over Postgres and Redis with no RPC in front.
//! Behind the `bench` feature; everything else of the crate stays private to it.

pub use crate::{
    domain::{DeliveryInfo, HoldTtl, OrderId, PaymentId, SagaId, UserId},
    store::holds::Holds,
    usecase::Deliveries,
};
