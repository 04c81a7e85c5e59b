//! What the benchmark's monolith floor (`bench/src/floor.rs`) drives in-process: the
//! Charge use case with no RPC in front. Behind the `bench` feature; everything else
//! of the crate stays private to it.

pub use crate::{
    domain::{ChargeCommand, OrderId, Payment, SagaId, UserId},
    usecase::charge::charge,
};
