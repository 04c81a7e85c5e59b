//! What the benchmark's monolith floor (`bench/src/floor.rs`) drives in-process: the
//! SQL of one checkout's order-svc steps with no RPC in between. Behind the `bench`
//! feature; everything else of the crate stays private to it.

pub use crate::{
    domain::{
        Command, OrderId, PaymentId, ProductId, SagaId, UserId,
        lifecycle::PaymentRecord,
        order::{LineRequest, NewOrder},
    },
    usecase::{
        orders::create as create_order, stock::reserve as reserve_stock, transitions::apply,
    },
};
